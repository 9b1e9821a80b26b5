// "Sign a document": upload → the card helper (or the wallet, by code) signs → download. No inline script.
(function () {
  "use strict";
  var form = document.getElementById("sign-form");
  var statusLine = document.getElementById("sign-status");
  var download = document.getElementById("download");
  function csrf() { return form.querySelector("input[name=csrfmiddlewaretoken]").value; }
  function say(text) { statusLine.textContent = text; }
  function finished(answer) {
    if (answer.download_url) { download.href = answer.download_url; download.hidden = false; say("✓"); return true; }
    return false;
  }
  function poll(url) {
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (answer) {
      if (!finished(answer)) { setTimeout(function () { poll(url); }, 2000); }
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("document").files[0];
    var method = form.querySelector("input[name=method]:checked").value;
    say("…");
    fetch(form.action, {method: "POST", body: new FormData(form), headers: {"X-CSRFToken": csrf()}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (prepared) {
        if (prepared.error) { throw prepared; }
        if (method === "wallet") {
          document.getElementById("wallet-command").textContent =
            "anchorid sign approve " + prepared.approval_code + " --wallet DIR --idp " + location.origin;
          document.getElementById("wallet-instructions").hidden = false;
          poll(prepared.finish_url);
          return null;
        }
        return fetch(form.dataset.helperUrl + "/v1/sign-document", {
          method: "POST", headers: {"Content-Type": "application/json"},
          body: JSON.stringify({file_name: file.name, document_sha256: prepared.document_sha256,
                                document_digest: prepared.document_digest})
        }).then(function (r) { return r.json(); }).then(function (signed) {
          if (signed.error) { throw signed; }
          return fetch(prepared.finish_url, {method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: JSON.stringify(signed)});
        }).then(function (r) { return r.json(); }).then(function (answer) {
          if (answer.error) { throw answer; }
          finished(answer);
        });
      })
      .catch(function (problem) { say((problem && problem.message) || "error"); });
  });
})();
