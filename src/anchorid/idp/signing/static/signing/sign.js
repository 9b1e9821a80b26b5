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
        // The helper gets the prepared PDF itself and computes what it shows and signs from it; the digests sent
        // along only let it refuse a document that is not the one the idp prepared (docs/protocols/card-helper.md).
        return fetch(prepared.prepared_url, {credentials: "same-origin"}).then(function (r) {
          if (!r.ok) { return r.json().then(function (answer) { throw answer; }); }
          return r.blob();
        }).then(function (pdf) {
          var query = new URLSearchParams({file_name: file.name, original_size: String(file.size),
                                           document_sha256: prepared.document_sha256,
                                           document_digest: prepared.document_digest});
          return fetch(form.dataset.helperUrl + "/v1/sign-document?" + query.toString(), {
            method: "POST", headers: {"Content-Type": "application/pdf"}, body: pdf
          });
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
