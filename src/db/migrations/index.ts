import { InitialSchema1795392000000 } from './1795392000000-InitialSchema';

/** Every migration, oldest first. Listed explicitly so the compiled bundle needs no glob. */
export const MIGRATIONS = [InitialSchema1795392000000];
