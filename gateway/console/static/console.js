// Small conveniences on top of pages that work without script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The language menu applies as soon as a language is chosen.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // In a list of warnings: j / k move between rows, Enter opens the focused row's link.
  const rows = Array.from(document.querySelectorAll("tr[data-href]"));
  if (rows.length) {
    document.addEventListener("keydown", (event) => {
      const target = event.target;
      if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement ||
          target instanceof HTMLTextAreaElement || event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      const at = rows.findIndex((row) => row.contains(document.activeElement));
      if (event.key === "j" || event.key === "k") {
        const next = event.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
        rows[next].querySelector("a").focus();
        event.preventDefault();
      }
    });
  }
});
