// Local SMSC for the gateway benchmark, on the npm `smpp` server: accepts any bind, answers submit_sm with an
// id and sends the delivery receipt (deliver_sm, esm_class 0x04, receipted_message_id + message_state) a few
// milliseconds later. Loopback only. Usage: node smsc.js <port> [receipt delay ms]; prints "READY <port>", then
// "FIRST <unix time in seconds>" when the first submit_sm comes off the wire (the benchmark times every system
// from there to its last receipt applied).
'use strict';
const smpp = require('smpp');

const port = parseInt(process.argv[2], 10);
const delay = parseInt(process.argv[3] || '5', 10);
let serial = 0;
let submits = 0;

function stamp() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

const server = smpp.createServer((session) => {
  session.socket.setNoDelay(true);
  const bind = (pdu) => session.send(pdu.response({ system_id: 'benchpeer' }));
  session.on('bind_transceiver', bind);
  session.on('bind_transmitter', bind);
  session.on('bind_receiver', bind);
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => { session.send(pdu.response()); session.close(); });
  session.on('error', () => {});
  session.on('submit_sm', (pdu) => {
    if (submits === 0) {
      process.stdout.write(`FIRST ${((performance.timeOrigin + performance.now()) / 1000).toFixed(6)}\n`);
    }
    submits += 1;
    serial += 1;
    const id = `N${serial.toString(16).padStart(10, '0')}`;
    session.send(pdu.response({ message_id: id }));
    if (!(pdu.registered_delivery & 0x03)) return;
    setTimeout(() => {
      const now = stamp();
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 0x04,
        short_message: `id:${id} sub:001 dlvrd:001 submit date:${now} done date:${now} stat:DELIVRD err:000 text:`,
        receipted_message_id: id,
        message_state: 2,
      });
    }, delay);
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`READY ${port}\n`);
});
process.on('SIGTERM', () => { process.stderr.write(`submits ${submits}\n`); process.exit(0); });
