// Lookout's dashboard page: sign in with an API key, then the four tabs (lib/dashboard.js),
// live from /api/v1/stream. The key lives in sessionStorage and travels only in the
// Authorization header.

import { mountDashboard } from './lib/dashboard.js';

const KEY_STORAGE = 'lookout.apiKey';
const $ = (id) => document.getElementById(id);
let dashboard = null;

function signOut(reason = '') {
  sessionStorage.removeItem(KEY_STORAGE);
  if (dashboard) dashboard.stop();
  dashboard = null;
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = reason;
  $('login-key').value = '';
  $('login-key').focus();
}

async function signIn(key) {
  const mounted = await mountDashboard({
    root: document,
    host: document.body,
    key,
    tab: location.hash.slice(1) || 'overview',
    hashNavigation: true,
    ready: () => {
      sessionStorage.setItem(KEY_STORAGE, key);
      $('login').hidden = true;
      $('app').hidden = false;
    },
    unauthorized: signOut,
  });
  dashboard = mounted;
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('login-error').textContent = '';
  const key = $('login-key').value.trim();
  try {
    await signIn(key);
  } catch (error) {
    if (error.status === 403) $('login-error').textContent = 'That key may not read the dashboard (it is a write key).';
    else if (error.status !== 401) $('login-error').textContent = `Sign-in failed: ${error.message}`;
    else $('login-error').textContent = 'That key is unknown or was revoked.';
  }
});
$('signout').addEventListener('click', () => signOut());

const stored = sessionStorage.getItem(KEY_STORAGE);
if (stored) {
  signIn(stored).catch((error) => signOut(error.status === 401 ? '' : `Sign-in failed: ${error.message}`));
} else {
  signOut('');
}
