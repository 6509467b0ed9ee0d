// ABAH SMS Center: the status page's chart of today's messages per hour, refreshed with the live numbers.
(function (document) {
  "use strict";
  var me = document.currentScript;
  var canvas = document.getElementById("sms-chart");
  if (!canvas || !window.Chart) { return; }
  function data() {
    var node = document.getElementById("sms-chart-data");
    return node ? JSON.parse(node.textContent) : { labels: [], sent: [], delivered: [], failed: [] };
  }
  var d = data();
  var chart = new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: d.labels,
      datasets: [
        { label: me.getAttribute("data-sent"), data: d.sent, backgroundColor: "#8fb8b3" },
        { label: me.getAttribute("data-delivered"), data: d.delivered, backgroundColor: "#198754" },
        { label: me.getAttribute("data-failed"), data: d.failed, backgroundColor: "#dc3545" }
      ]
    },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    var fresh = data();
    chart.data.datasets[0].data = fresh.sent;
    chart.data.datasets[1].data = fresh.delivered;
    chart.data.datasets[2].data = fresh.failed;
    chart.update();
  });
})(document);
