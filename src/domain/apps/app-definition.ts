/**
 * An app as the domain sees it: its keys, its collections' settings and its Business Logic. The
 * configuration (config/load-config.ts) builds these from the apps file or the environment; the domain only
 * reads them, so the types live here and config re-exports them.
 */
import type { CollectionPermissions, MailTemplateInput } from '../../../schemas/apps.schema';
import type { BusinessLogicConfig } from './business-logic-config';

export type { CollectionPermissions };

/** A group the environment file defines: created by the server at start if missing. */
export interface EnvironmentGroup {
  _id: string;
  name?: string;
  description?: string;
  /** Ids of nested groups. */
  groups: string[];
}

/** A role the environment file defines (by name): created by the server at start if no role has that name. */
export interface EnvironmentRole {
  name: string;
  description?: string;
}

export interface CollectionSettings {
  /**
   * Absent: the collection's default, `shared` (what Kinvey gives a new collection, and kinbase one
   * the config does not list) or `private` for `_blob` (see collectionPermissions, filePermissions).
   */
  readonly permissions?: CollectionPermissions;
  /** Serve `_deltaset` and keep tombstones of deleted entities (off by default). */
  readonly deltaSet?: boolean;
  /** Fields to index beyond the ones kinbase always indexes (`_id`, the ACL fields, `_kmd.lmt`). */
  readonly indexes?: readonly string[];
}

/** The account mails an app sends. */
export type MailKind = 'passwordReset' | 'emailVerification' | 'forgotUsername';

/** An app's own text for an account mail (apps file `mailTemplates`); placeholders as mailTemplateSchema says. */
export type MailTemplate = MailTemplateInput;

/** The environment file's `settings` that shape the account mails. */
export interface AccountSettings {
  /** `settings.emailVerification`: `auto` mails a link at signup, `required` refuses logins until it is confirmed. */
  readonly emailVerification: { readonly required: boolean; readonly auto: boolean };
  /**
   * `settings.passwordReset`: the app's own reset page (an http(s) URL). The mail then links there
   * with `appKey` and `token` added to its query; the page posts them with the new password to
   * kinbase's `POST /account/:appKey/password-reset`. null: kinbase's own page.
   */
  readonly passwordResetPage: string | null;
}

/**
 * A named image variant size (`imageVariants` of an app): `cover` crops to exactly width x height,
 * `contain` letterboxes into it, `inside` scales down to fit (one of width/height may be absent).
 */
export interface ImageVariantPreset {
  readonly width?: number;
  readonly height?: number;
  readonly fit: 'cover' | 'inside' | 'contain';
  readonly format: 'webp' | 'jpeg' | 'png' | 'avif';
  /** Encoder quality 1-100; the encoder's default when absent. */
  readonly quality?: number;
}

export interface AppDefinition {
  readonly appKey: string;
  readonly appSecret: string;
  readonly masterSecret: string;
  readonly name: string;
  readonly collections: Readonly<Record<string, CollectionSettings>>;
  /** From the app's `environmentFile` (kinvey-cli's format); absent when it names none. */
  readonly businessLogic?: BusinessLogicConfig;
  /** The environment file's groups, created at start when missing. */
  readonly groups?: readonly EnvironmentGroup[];
  /** From the environment file's `settings`; absent: no verification asked, kinbase's reset page. */
  readonly accounts?: AccountSettings;
  /** The apps file's `mailTemplates`: the app's own account mails (built-in ones otherwise). */
  readonly mailTemplates?: Readonly<Partial<Record<MailKind, MailTemplate>>>;
  /** The environment file's roles, created at start when missing. */
  readonly roles?: readonly EnvironmentRole[];
  /** Image variant presets by name; absent: the defaults (thumb, medium; see image-presets.ts). */
  readonly imageVariants?: Readonly<Record<string, ImageVariantPreset>>;
}
