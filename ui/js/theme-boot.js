// Runs before the first paint: applies the theme chosen last time (saved settings are
// read later by settings.js; this only avoids a flash of the wrong theme), and keeps
// data-scheme on <html> — the palette in force, "light" or "dark" — in step with the
// choice in data-theme and, for "system", with the system's preference, so that the
// stylesheet states the dark palette once.
(function () {
  var root = document.documentElement;
  var systemDark = window.matchMedia('(prefers-color-scheme: dark)');
  function resolve() {
    var choice = root.getAttribute('data-theme');
    var scheme = choice === 'light' || choice === 'dark' ? choice : systemDark.matches ? 'dark' : 'light';
    if (root.getAttribute('data-scheme') !== scheme) root.setAttribute('data-scheme', scheme);
  }
  var choice = 'system';
  try {
    var saved = window.localStorage.getItem('theme');
    if (saved === 'light' || saved === 'dark' || saved === 'system') choice = saved;
  } catch (e) { /* storage unavailable: follow the system */ }
  root.setAttribute('data-theme', choice);
  resolve();
  systemDark.addEventListener('change', resolve);
  new MutationObserver(resolve).observe(root, { attributes: true, attributeFilter: ['data-theme'] });
})();
