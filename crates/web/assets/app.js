// The browser's time zone goes with sign-in and registration, so times are shown in the
// reader's zone. Without JavaScript the clinic's zone is used.
function fillBrowserZone() {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
    input.value = zone;
  });
}
document.addEventListener("DOMContentLoaded", fillBrowserZone);
// htmx swaps pages in without a new DOMContentLoaded.
document.addEventListener("htmx:afterSwap", fillBrowserZone);
