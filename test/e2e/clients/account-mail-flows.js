/**
 * The account-mail calls of both SDK generations against a kinbase server that mails through
 * Mailpit: PHASE=start signs a user up and asks for a password reset, an e-mail verification and
 * the forgotten username; PHASE=check logs in with the password set through the reset page and
 * reads whether the address is confirmed. test/e2e/sdk-account-mail.test.ts follows the links.
 * Env: USERNAME, EMAIL, PASSWORD (start: the first one; check: the one set on the page).
 */
const { flow } = require('./flow-report');

async function runAccountMailFlows({ Kinvey }) {
  const { User } = Kinvey;
  const { USERNAME: username, EMAIL: email, PASSWORD: password, PHASE: phase } = process.env;
  if (phase === 'start') {
    await flow('signup', async () => {
      await User.signup({ username, password, email });
      const active = await User.getActiveUser();
      if (active) await User.logout();
      return username;
    });
    await flow('resetPassword', async () => (await User.resetPassword(username)) ?? null);
    await flow('verifyEmail', async () => (await User.verifyEmail(username)) ?? null);
    await flow('forgotUsername', async () => (await User.forgotUsername(email)) ?? null);
    return;
  }
  await flow('login with the new password', async () => {
    const user = await User.login(username, password);
    const verification = user.data._kmd.emailVerification;
    return {
      username: user.data.username,
      status: verification && verification.status,
      ...(typeof user.isEmailVerified === 'function' ? { isEmailVerified: user.isEmailVerified() } : {}),
    };
  });
}

module.exports = { runAccountMailFlows };
