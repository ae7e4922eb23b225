/*
 * Types of dist/shared/protocol-validators.js, which scripts/gen-validators.mjs generates at build
 * time from the zod schemas in protocol.ts (zod -> JSON Schema -> ajv standalone code). The hook
 * validates the daemon's messages with these: the same schemas, without loading zod or ajv.
 */
export interface GeneratedValidator {
  (data: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> | null;
}
export declare const ServerMessage: GeneratedValidator;
export declare const HelloResult: GeneratedValidator;
export declare const CheckResult: GeneratedValidator;
export declare const ProgressParams: GeneratedValidator;
export declare const HeartbeatParams: GeneratedValidator;
