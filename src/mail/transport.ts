import nodemailer from "nodemailer";
import type { RenderedEmail } from "../domain/emailTexts.js";

/** How an email leaves: through SMTP, or into the local mailbox (the outbox row itself). */
export interface MailTransport {
  name: "smtp" | "mailbox";
  send(message: RenderedEmail & { from: string; to: string[]; messageId: string }): Promise<void>;
  close(): void;
}

/** SMTP through nodemailer, one pooled connection (`SMTP_URL`, e.g. smtp://user:pass@host:587). */
export function smtpTransport(url: string): MailTransport {
  const transporter = nodemailer.createTransport(url);
  return {
    name: "smtp",
    async send(message) {
      await transporter.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: message.messageId,
      });
    },
    close: () => transporter.close(),
  };
}

/** Without SMTP settings: an email is "sent" by being kept, readable in the console and CLI. */
export const mailboxTransport: MailTransport = { name: "mailbox", send: async () => {}, close: () => {} };
