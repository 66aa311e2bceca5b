/**
 * The outbox of account mails against SMTP servers that misbehave over real sockets: one that
 * accepts connections and never says a word (the queue fills, the next mail is dropped and
 * logged, enqueueing never waits), and Mailpit (what was queued arrives, `idle` resolves after).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { MailOutbox } from '../../src/domain/mail/outbox';
import { createSmtpTransport } from '../../src/stores/mail/smtp.mail-transport';
import { startMailpit } from '../support/mailpit';
import { freshAddress } from '../support/account-mail';

jest.setTimeout(30_000);

test('a silent SMTP server fills the bounded queue: the next mail is dropped and logged, and enqueueing never waits', async () => {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const warnings: string[] = [];
  const outbox = new MailOutbox(
    createSmtpTransport({ smtpUrl: `smtp://127.0.0.1:${port}`, from: 'no-reply@kinbase.test' }),
    { maxQueued: 3, concurrency: 2, warn: (_context, message) => warnings.push(message) },
  );
  try {
    const mail = { to: 'someone@example.test', subject: 's', text: 't' };
    // Two in flight (stuck at the greeting), three waiting: the sixth finds the queue full.
    const accepted = Array.from({ length: 6 }, () => outbox.enqueue(mail));
    expect(accepted).toEqual([true, true, true, true, true, false]);
    expect(warnings).toEqual(['the mail queue is full: an account mail was dropped']);
  } finally {
    outbox.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
  // Closing the pool fails what was stuck; each failure is logged, none is thrown.
  await outbox.idle();
  expect(warnings.filter((w) => w === 'sending an account mail failed').length).toBeGreaterThan(0);
});

test('queued mails reach a working SMTP server, with a plain-text part and the HTML part when given', async () => {
  const mailpit = await startMailpit();
  const warnings: string[] = [];
  const outbox = new MailOutbox(createSmtpTransport({ smtpUrl: mailpit.smtpUrl, from: 'Shop <shop@kinbase.test>' }), {
    warn: (_context, message) => warnings.push(message),
  });
  try {
    const to = freshAddress('outbox');
    outbox.enqueue({ to, subject: 'plain', text: 'only text' });
    outbox.enqueue({ to, subject: 'both', text: 'text part', html: '<p>html part</p>' });
    await outbox.idle();
    const mails = await mailpit.waitForMails(to, 2);
    expect(mails.map((m) => [m.subject, m.from, m.text.trim(), m.html.trim()]).sort()).toEqual([
      ['both', 'shop@kinbase.test', 'text part', '<p>html part</p>'],
      ['plain', 'shop@kinbase.test', 'only text', ''],
    ]);
    expect(warnings).toEqual([]);
  } finally {
    outbox.close();
    await mailpit.stop();
  }
});
