/**
 * The SMTP adapter of MailTransport, with nodemailer: `smtp://` connects in plain text and upgrades
 * with STARTTLS whenever the server offers it (`?requireTLS=true` refuses a server that does not; other nodemailer options may be set the same way),
 * `smtps://` speaks TLS from the first byte. A small pool of connections is kept open, and every
 * step has a timeout, so a stuck server fails the mail (which the outbox logs) instead of piling up.
 */
import nodemailer from 'nodemailer';
import type { MailConfig } from '../../config/load-config';
import type { MailMessage, MailTransport } from '../../domain/ports';

export function createSmtpTransport(config: MailConfig): MailTransport {
  // Options the URL's query sets (nodemailer's own names) win over these defaults.
  const transport = nodemailer.createTransport(
    {
      url: config.smtpUrl,
      pool: true,
      maxConnections: 2,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    },
    { from: config.from },
  );
  return {
    async send(message: MailMessage): Promise<void> {
      await transport.sendMail({
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html === undefined ? {} : { html: message.html }),
      });
    },
    close(): void {
      transport.close();
    },
  };
}
