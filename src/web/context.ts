/** What every route of the web admin and API is given: the services it is a thin layer over. */
import type { DataSource } from 'typeorm';
import type { WebSettings } from '../config/web';
import type { UploadIntake } from '../queue/intake';
import type { Logger } from '../util/logger';
import type { LoginGuard } from './auth/login-guard';
import type { SessionStore } from './auth/sessions';
import type { PrincipalCache } from './auth/principal';
import type { Touches } from '../util/touches';
import type { Authenticator, LoginLimits } from '../ftps/types';

export interface WebContext {
  ds: DataSource;
  settings: WebSettings;
  logger: Logger;
  authenticator: Authenticator;
  sessions: SessionStore;
  /** principals of API tokens, read again every 2 s (pages always read them fresh) */
  principals: PrincipalCache;
  /** API tokens' last uses, by token id, written in the background */
  tokenTouches: Touches<number>;
  guard: LoginGuard;
  login: LoginLimits;
  /** the FTPS drop folder root: web uploads land where FTPS uploads do */
  dropRoot: string;
  /** the FTPS upload size cap, the web's too */
  maxUploadBytes: number;
  intake: UploadIntake;
  /** ROSTERDROP_HELD_DAYS: a held run's page says when it expires */
  heldDays: number;
  /** wakes the queue (a held run approved, …) */
  wakeQueue: () => void;
  /** for /readyz */
  ftpsListening: () => boolean;
}
