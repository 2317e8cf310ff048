// Theme: data-theme on <html> is "system", "light" or "dark"; the stylesheet follows
// data-scheme, which theme-boot.js derives from it (and prefers-color-scheme for
// "system"). The choice is also kept in localStorage so the next
// start paints the right theme before the settings are read.

const THEMES = ['system', 'light', 'dark'];

export function applyTheme(choice) {
  const theme = THEMES.includes(choice) ? choice : 'system';
  document.documentElement.setAttribute('data-theme', theme);
  try {
    window.localStorage.setItem('theme', theme);
  } catch {
    /* storage unavailable: the saved setting still applies at start */
  }
  return theme;
}
