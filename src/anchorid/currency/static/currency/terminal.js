// The merchant's terminal: read a customer's payment code (a keyboard-wedge scanner types it into the field; with the
// browser's BarcodeDetector the camera reads it), ask for the amount, and show the shop's payments live.
(function () {
  "use strict";
  var form = document.getElementById("terminal-form");
  if (!form) { return; }
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var result = document.getElementById("terminal-result");
  var labels = document.getElementById("terminal-labels");
  var attempt = 0;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    attempt += 1;
    var body = {
      code: document.getElementById("terminal-code").value.trim(),
      amount: document.getElementById("terminal-amount").value.trim(),
      payment_id: form.getAttribute("data-payment-id") + "-" + attempt
    };
    fetch(form.getAttribute("data-read"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json(); }).then(function (answer) {
      result.textContent = answer.message || (labels.getAttribute("data-" + answer.state) || answer.state);
      if (!answer.error) { document.getElementById("terminal-code").value = ""; }
      refresh();
    });
  });
  function refresh() {
    fetch(form.getAttribute("data-payments"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var tbody = document.getElementById("terminal-payments");
        tbody.textContent = "";
        body.payments.forEach(function (p) {
          var tr = document.createElement("tr");
          tr.setAttribute("data-state", p.state);
          [p.at, Number(p.amount).toLocaleString(), labels.getAttribute("data-" + p.state) || p.state].forEach(function (text) {
            var td = document.createElement("td"); td.textContent = text; tr.appendChild(td);
          });
          tbody.appendChild(tr);
        });
      });
  }
  refresh();
  setInterval(refresh, 2000);
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    var button = document.getElementById("terminal-camera");
    button.hidden = false;
    button.addEventListener("click", function () {
      var video = document.getElementById("terminal-video");
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream; video.hidden = false; video.play();
        var scan = function () {
          detector.detect(video).then(function (codes) {
            if (codes.length) {
              document.getElementById("terminal-code").value = codes[0].rawValue;
              stream.getTracks().forEach(function (t) { t.stop(); });
              video.hidden = true;
            } else { requestAnimationFrame(scan); }
          });
        };
        scan();
      });
    });
  }
})();
