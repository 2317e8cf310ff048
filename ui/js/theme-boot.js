// Runs before the first paint: applies the theme chosen last time (saved settings are
// read later by settings.js; this only avoids a flash of the wrong theme).
(function () {
  var choice = 'system';
  try {
    var saved = window.localStorage.getItem('theme');
    if (saved === 'light' || saved === 'dark' || saved === 'system') choice = saved;
  } catch (e) { /* storage unavailable: follow the system */ }
  document.documentElement.setAttribute('data-theme', choice);
})();
