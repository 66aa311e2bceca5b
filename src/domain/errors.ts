/**
 * Kinvey's error catalogue. Every error kinbase sends is a KinveyError built by one of the
 * factories below, so names, statuses and descriptions stay identical across routes.
 * Statuses and descriptions follow kinvey-protocol.md §6.
 */
export class KinveyError extends Error {
  constructor(
    readonly error: string,
    readonly status: number,
    readonly description: string,
    readonly debug: string = '',
  ) {
    super(`${error}: ${description}${debug ? ` (${debug})` : ''}`);
    this.name = 'KinveyError';
  }

  /** The wire body: all three values are strings (Swift parses it as [String:String]). */
  toJSON(): { error: string; description: string; debug: string } {
    return { error: this.error, description: this.description, debug: this.debug };
  }
}

const factory =
  (error: string, status: number, description: string) =>
  (debug = ''): KinveyError =>
    new KinveyError(error, status, description, debug);

/** Seconds a client is told to wait (Retry-After) before retrying after a 503: the shortage is momentary. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/** A 503 KinveyInternalErrorRetry carrying its Retry-After, like every other error that says when to come back. */
const unavailable =
  (description: string) =>
  (debug = ''): KinveyError & { readonly retryAfterSeconds: number } =>
    Object.assign(new KinveyError('KinveyInternalErrorRetry', 503, description, debug), {
      retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
    });

export const errors = {
  parameterValueOutOfRange: factory(
    'ParameterValueOutOfRange',
    400,
    'The value specified for one of the request parameters is out of range.',
  ),
  invalidQuerySyntax: factory('InvalidQuerySyntax', 400, 'The query string in the request has an invalid syntax.'),
  missingQuery: factory('MissingQuery', 400, 'The request is missing a query string.'),
  jsonParseError: factory('JSONParseError', 400, 'Unable to parse the JSON in the request.'),
  missingRequestHeader: factory('MissingRequestHeader', 400, 'The request is missing a required header.'),
  incompleteRequestBody: factory('IncompleteRequestBody', 400, 'The request body is either missing or incomplete.'),
  missingRequestParameter: factory('MissingRequestParameter', 400, 'A required parameter is missing from the request.'),
  invalidIdentifier: factory(
    'InvalidIdentifier',
    400,
    'One of more identifier names in the request has an invalid format.',
  ),
  featureUnavailable: factory('FeatureUnavailable', 400, 'Requested functionality is unavailable in this API version.'),
  apiVersionNotAvailable: factory('APIVersionNotAvailable', 400, 'This API version is not available for your app.'),
  badRequest: factory('BadRequest', 400, 'Unable to understand request.'),
  resultSetSizeExceeded: factory(
    'ResultSetSizeExceeded',
    400,
    'Your query produced more than 10,000 results. Please rewrite your query to be more selective.',
  ),
  requestEntityTooLarge: factory('BadRequest', 413, 'The request body is larger than this server accepts.'),
  invalidCredentials: factory(
    'InvalidCredentials',
    401,
    'Invalid credentials. Please retry your request with correct credentials.',
  ),
  /**
   * A user copied by `kinbase pull`, whose password the source API could not give: the login is
   * refused like a wrong password (InvalidCredentials, 401, which the SDKs treat as a failed
   * login), with a description saying to reset the password first.
   */
  passwordResetRequired: factory(
    'InvalidCredentials',
    401,
    'This account has no password on this server yet (it was moved from another one): reset the password (user-password-reset-initiate), then log in with the new one.',
  ),
  insufficientCredentials: factory(
    'InsufficientCredentials',
    401,
    'The credentials used to authenticate this request are not authorized to run this operation. Please retry your request with appropriate credentials.',
  ),
  appProblem: factory(
    'AppProblem',
    403,
    'There is a problem with this app backend that prevents execution of this operation. Please contact support.',
  ),
  indirectCollectionAccessDisallowed: factory(
    'IndirectCollectionAccessDisallowed',
    403,
    'Please use the appropriate API to access this collection for this app backend.',
  ),
  writesToCollectionDisallowed: factory(
    'WritesToCollectionDisallowed',
    403,
    'This collection is configured to disallow any modifications to an existing entity or creation of new entities.',
  ),
  missingConfiguration: factory(
    'MissingConfiguration',
    403,
    'This feature is not properly configured for this app backend. Please configure it through the console first, or contact support for more information.',
  ),
  /** A wrong, expired or already used MFA code; kinvey-js-sdk 7's MFA tests expect this description. */
  mfaCodeRejected: factory(
    'ValidationError',
    400,
    'Your request body contained invalid or incorrectly formatted data.',
  ),
  authenticatorNotFound: factory('AuthenticatorNotFound', 404, 'Could not find the specified authenticator.'),
  entityNotFound: factory('EntityNotFound', 404, 'This entity not found in the collection.'),
  collectionNotFound: factory('CollectionNotFound', 404, 'This collection not found for this app backend.'),
  appNotFound: factory('AppNotFound', 404, 'This app backend not found.'),
  userNotFound: factory('UserNotFound', 404, 'This user does not exist for this app backend.'),
  blobNotFound: factory('BlobNotFound', 404, 'This blob not found for this app backend.'),
  endpointDoesNotExist: factory(
    'EndpointDoesNotExist',
    404,
    'The custom endpoint you tried to access does not exist. Please configure custom Business Logic endpoints through the Kinvey Console.',
  ),
  routeNotFound: factory('NotFound', 404, 'The requested URL was not found on this server.'),
  methodNotAllowed: factory('MethodNotAllowed', 405, 'The request method is not allowed for this URL.'),
  unsupportedMediaType: factory(
    'UnsupportedMediaType',
    415,
    'The Content-Type of the request does not match the upload.',
  ),
  rangeNotSatisfiable: factory('RangeNotSatisfiable', 416, 'The requested byte range cannot be satisfied.'),
  staleRequest: factory('StaleRequest', 409, 'The time window for this request has expired.'),
  userAlreadyExists: factory(
    'UserAlreadyExists',
    409,
    'This username is already taken. Please retry your request with a different username.',
  ),
  entityAlreadyExists: factory('EntityAlreadyExists', 409, 'An entity with this _id already exists in the collection.'),
  /**
   * 429 with the seconds to wait (sent as Retry-After). Kinvey documents no throttling error, so
   * the name is kinbase's own, in Kinvey's style; the SDKs surface it as a generic KinveyError and,
   * unlike InvalidCredentials, do not log the user out on it.
   */
  tooManyLoginAttempts: (retryAfterSeconds: number, debug = ''): KinveyError & { readonly retryAfterSeconds: number } =>
    Object.assign(
      new KinveyError(
        'TooManyLoginAttempts',
        429,
        'Too many login attempts. Please retry after the number of seconds given in the Retry-After header.',
        debug,
      ),
      { retryAfterSeconds },
    ),
  kinveyInternalErrorRetry: factory(
    'KinveyInternalErrorRetry',
    500,
    'The Kinvey server encountered an unexpected error. Please retry your request.',
  ),
  /** Object storage is out of a resource (file handles) or unreachable for now: 503 with Retry-After. */
  storageUnavailable: unavailable('The file storage is temporarily unavailable. Please retry your request.'),
  /** The document store is unreachable or failing for now: 503 with Retry-After (a StoreError 'unavailable'). */
  storeUnavailable: unavailable('The data store is temporarily unavailable. Please retry your request.'),
  kinveyInternalErrorStop: factory(
    'KinveyInternalErrorStop',
    500,
    'The Kinvey server encountered an unexpected error. Please contact support.',
  ),
  apiVersionNotImplemented: factory('APIVersionNotImplemented', 501, 'This API version is not implemented.'),
  // Business Logic (kinvey-protocol.md §6): Kinvey answers 550 when a hook or endpoint did not complete.
  blRuntimeError: factory(
    'BLRuntimeError',
    550,
    'The Business Logic script has a runtime error. See debug message for details.',
  ),
  blSyntaxError: factory(
    'BLSyntaxError',
    550,
    'The Business Logic script has a syntax error(s). See debug message for details.',
  ),
  blTimeoutError: factory(
    'BLTimeoutError',
    550,
    'The Business Logic script did not complete in time. See debug message for details.',
  ),
  blViolationError: factory(
    'BLViolationError',
    550,
    'The Business Logic script violated a constraint. See debug message for details.',
  ),
  blInternalError: factory(
    'BLInternalError',
    550,
    'The Business Logic script did not complete. See debug message for details.',
  ),
} as const;

export function isKinveyError(value: unknown): value is KinveyError {
  return value instanceof KinveyError;
}
