import { ApiError, login } from './api.js';
import { $, fail, show } from './dom.js';

const PASSWORD_CHANGE_REQUIRED = 1024;

/** The login form, and the forced password change when the server answers code 1024 (the default admin). */
export function setUpLogin(onLoggedIn) {
  const loginForm = $('login-form');
  const changeForm = $('change-form');
  const result = $('login-result');
  let pending = null;

  loginForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = $('login-username').value;
    const password = $('login-password').value;
    show(result, null);
    try {
      onLoggedIn(await login(username, password));
    } catch (error) {
      if (error instanceof ApiError && error.entries.some((entry) => entry.code === PASSWORD_CHANGE_REQUIRED)) {
        pending = { username, password };
        loginForm.hidden = true;
        changeForm.hidden = false;
        $('new-password').focus();
        return;
      }
      fail(result, 'Login failed:', error);
    }
  });

  changeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const next = $('new-password').value;
    if (next !== $('new-password-again').value) {
      show(result, 'error', 'The two new passwords differ.');
      return;
    }
    show(result, null);
    try {
      onLoggedIn(await login(pending.username, pending.password, next));
    } catch (error) {
      fail(result, 'The password was not changed:', error);
    }
  });

  return function showLogin(message) {
    pending = null;
    loginForm.reset();
    changeForm.reset();
    loginForm.hidden = false;
    changeForm.hidden = true;
    show(result, message ? 'error' : null, message ?? '');
    $('login-password').focus();
  };
}
