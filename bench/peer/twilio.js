// Local peer for the HTTP gateway benchmark, following Twilio's Messages API: POST
// /2010-04-01/Accounts/<sid>/Messages.json (form: To, From, Body, StatusCallback) with HTTP basic auth (account SID
// and auth token) answers 201 with the Message resource; a few milliseconds later it posts the StatusCallback
// ("sent", then "delivered"; with final-only, just "delivered") signed with X-Twilio-Signature (base64 HMAC-SHA1 of
// the URL and the sorted fields, keyed with the auth token). Loopback only, keep-alive connections both ways.
// Usage: node twilio.js <port> <account sid> <auth token> [delay ms] [final-only 0|1]; prints "READY <port>", then
// "FIRST <unix time>" at the first send request.
'use strict';
const http = require('http');
const crypto = require('crypto');
const querystring = require('querystring');

const [port, account, token] = [parseInt(process.argv[2], 10), process.argv[3], process.argv[4]];
const delay = parseInt(process.argv[5] || '5', 10);
const finalOnly = process.argv[6] === '1';
const expected = 'Basic ' + Buffer.from(`${account}:${token}`).toString('base64');
const path = `/2010-04-01/Accounts/${account}/Messages.json`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let sent = 0;
let callbacks = 0;
let failedCallbacks = 0;

function sign(url, params) {
  const payload = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
  return crypto.createHmac('sha1', token).update(payload).digest('base64');
}

function post(url, params) {
  const body = querystring.stringify(params);
  const target = new URL(url);
  const req = http.request({
    hostname: target.hostname, port: target.port, path: target.pathname + target.search, method: 'POST', agent,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body),
               'X-Twilio-Signature': sign(url, params) },
  }, (res) => { res.resume(); if (res.statusCode === 200) callbacks += 1; else failedCallbacks += 1; });
  req.on('error', () => { failedCallbacks += 1; });
  req.end(body);
}

const server = http.createServer((req, res) => {
  let chunks = '';
  req.on('data', (c) => { chunks += c; });
  req.on('end', () => {
    const answer = (status, obj) => {
      const data = JSON.stringify(obj);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
      res.end(data);
    };
    if (req.method !== 'POST' || req.url !== path) return answer(404, { code: 20404, message: 'Not found', status: 404 });
    if (req.headers.authorization !== expected) return answer(401, { code: 20003, message: 'Authenticate', status: 401 });
    if (sent === 0) process.stdout.write(`FIRST ${((performance.timeOrigin + performance.now()) / 1000).toFixed(6)}\n`);
    sent += 1;
    const form = querystring.parse(chunks);
    const sid = 'SM' + crypto.randomBytes(16).toString('hex');
    answer(201, { sid, account_sid: account, to: form.To, from: form.From, body: form.Body, status: 'queued',
                  num_segments: '1', error_code: null, error_message: null, api_version: '2010-04-01' });
    if (!form.StatusCallback) return;
    setTimeout(() => {
      for (const state of finalOnly ? ['delivered'] : ['sent', 'delivered']) {
        post(form.StatusCallback, { MessageSid: sid, SmsSid: sid, MessageStatus: state, SmsStatus: state,
                                    AccountSid: account, From: form.From, To: form.To, ApiVersion: '2010-04-01' });
      }
    }, delay);
  });
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`READY ${port}\n`));
process.on('SIGTERM', () => {
  process.stderr.write(`sent ${sent} callbacks ${callbacks} failed ${failedCallbacks}\n`);
  process.exit(0);
});
