// The merchant's terminal: read a customer's payment code (the device camera through jsQR, vendor/jsQR.js; or a
// keyboard-wedge scanner, or typing, into the field), ask for the amount, and show the shop's payments live.
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
  // The camera: frames drawn to a canvas and decoded by jsQR until a payment code appears.
  var button = document.getElementById("terminal-camera");
  if (window.jsQR && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var video = document.getElementById("terminal-video");
      var canvas = document.createElement("canvas");
      var context = canvas.getContext("2d", { willReadFrequently: true });
      button.disabled = true;
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream; video.hidden = false; video.play();
        var stop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          video.hidden = true; button.disabled = false;
        };
        var scan = function () {
          if (video.readyState >= 2 && video.videoWidth) {
            canvas.width = video.videoWidth; canvas.height = video.videoHeight;
            context.drawImage(video, 0, 0, canvas.width, canvas.height);
            var image = context.getImageData(0, 0, canvas.width, canvas.height);
            var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
            if (code && code.data.indexOf("KMC1:") === 0) {
              document.getElementById("terminal-code").value = code.data;
              result.textContent = labels.getAttribute("data-read");
              stop();
              document.getElementById("terminal-amount").focus();
              return;
            }
          }
          requestAnimationFrame(scan);
        };
        scan();
      }, function () {
        result.textContent = labels.getAttribute("data-no-camera");
        button.disabled = false;
      });
    });
  }
})();
