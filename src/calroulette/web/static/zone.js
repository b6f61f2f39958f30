// Pre-select the browser's time zone in a form's zone list, when the visitor has not chosen one.
// The form works the same without this script.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
    if (select.dataset.chosen === "1" || !zone) return;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) { select.value = zone; break; }
    }
  });
})();
