// Re-index progress on the documents page: polls the run until it ends, then reloads the list.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-status") !== "running") return;
  var id = box.getAttribute("data-job");
  var bar = document.getElementById("job-progress");
  var detail = document.getElementById("job-detail");
  var status = document.getElementById("job-status");
  var timer = window.setInterval(async function () {
    try {
      var response = await fetch("/api/admin/reindex/" + encodeURIComponent(id), { credentials: "same-origin" });
      if (!response.ok) return;
      var job = await response.json();
      bar.value = job.percent;
      bar.textContent = job.percent + "%";
      if (job.status === "running") {
        detail.textContent = job.done + " di " + job.total + " file" + (job.current ? " — " + job.current : "");
        return;
      }
      window.clearInterval(timer);
      status.textContent = job.status === "done" ? "completata" : "non riuscita";
      detail.textContent = job.status === "done" ? "Completata: aggiorno l'elenco…" : job.error;
      if (job.status === "done") window.setTimeout(function () { window.location.replace("/admin/documents?job=" + id + "#reindex"); }, 800);
    } catch (err) { /* try again */ }
  }, 700);
})();
