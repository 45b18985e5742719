// A form is submitted once: a second click while the first is on its way does nothing.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.submitted === "1") { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
  setTimeout(function () { form.dataset.submitted = ""; }, 8000);
});
