// The payment-code page: poll until the shop's terminal asks for an amount, then show it for confirmation.
(function () {
  "use strict";
  var box = document.getElementById("code-qr");
  if (!box) { return; }
  var url = box.getAttribute("data-status");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (body.state === "authorised") {
          document.getElementById("code-waiting").hidden = true;
          document.getElementById("code-confirm").hidden = false;
          document.getElementById("code-shop").textContent = body.shop;
          document.getElementById("code-amount").textContent = Number(body.amount).toLocaleString();
          return;
        }
        if (body.state === "expired" || body.state === "voided") {
          document.getElementById("code-waiting").hidden = true;
          document.getElementById("code-expired").hidden = false;
          return;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
