// Draws the page's plotly figures and keeps a running run's page up to date.
// Figures come as JSON data elements, never as inline scripts, so the page runs
// only this file and plotly's.
(function () {
  "use strict";
  var POLL_MS = 1000;

  function drawFigures(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll("script.plotly-figure").forEach(function (node) {
      var target = document.getElementById(node.dataset.target);
      if (!target) { return; }
      var figure = JSON.parse(node.textContent);
      window.Plotly.newPlot(target, figure.data, figure.layout,
        { displaylogo: false, responsive: true });
    });
  }

  function refresh() {
    return fetch(window.location.href, { cache: "no-store" })
      .then(function (response) {
        // A failed answer (the server busy or stopping) leaves the page as it was,
        // still polling, rather than replacing the run with an error.
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("page");
        var current = document.getElementById("page");
        if (fresh && current) {
          current.replaceWith(document.adoptNode(fresh));
          drawFigures(document);
        }
      });
  }

  function poll() {
    var page = document.getElementById("page");
    var url = page && page.dataset.progress;
    if (!url) { return; }
    fetch(url, { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (p) {
        var seen = p.state + "/" + p.snapshots + "/" + p.timings;
        return seen === page.dataset.seen ? null : refresh();
      })
      .catch(function () { return null; })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  drawFigures(document);
  window.setTimeout(poll, POLL_MS);
}());
