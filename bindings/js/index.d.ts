// Types of the blastwall JavaScript host (index.js).

/** The ABI version this host speaks. */
export const ABI_VERSION: 5;

export type Outcome = "allow" | "warn" | "review" | "deny";
export type Level = "hard" | "soft" | "advisory";
export type Effect = "deny" | "warn" | "review";

/** One thing a rule found. Optional members are absent (not `undefined`) when not set. */
export interface Finding {
  rule: string;
  level: Level;
  effect: Effect;
  message: string;
  /** `path:line:col` of the rule. */
  source: string;
  /** The file, resource or command the finding is about, when the rule says. */
  about?: string;
  /** For a review: the group asked (`any` for anyone). */
  from?: string;
  /** For a review: how many distinct approvals. */
  count?: number;
  /** Set when a recorded override lifted this `soft` finding. */
  overridden?: { by: string; reason: string };
  /** True when the finding reports an evaluation error of the rule. */
  error?: true;
  /** How many further findings of this rule were left out after the cap. */
  omitted?: number;
}

export interface Review {
  from: string;
  needed: number;
  have: number;
  satisfied: boolean;
}

/** The same object, with the same member order, as the Rust host's Decision JSON. */
export interface Decision {
  outcome: Outcome;
  findings: Finding[];
  reviews: Review[];
}

/** Integers are numbers (safe integers only) or bigints. */
export type FactValue = null | boolean | number | bigint | string | FactValue[] | { [key: string]: FactValue | undefined };

export interface Facts {
  change?: Record<string, FactValue | undefined>;
  plan?: Record<string, FactValue | undefined>;
  action?: Record<string, FactValue | undefined>;
  topology?: Record<string, FactValue | undefined>;
  config?: Record<string, FactValue | undefined>;
  overrides?: { rule: string; by: string; reason: string }[];
}

/** The module's `blastwall` metadata section (docs/abi.md, "The metadata"). Integers beyond
 * 2^53 in it are bigints. */
export interface Metadata {
  abi: 3;
  compiler: string;
  digest: string;
  graph: boolean;
  rules: { name: string; level: Level; effect: Effect; doc: string[]; source: string; reads: string[]; message: string }[];
  params: { name: string; type: string; default: unknown; doc: string[]; glob: boolean }[];
  layout: { documents: Record<string, string>; records: Record<string, unknown[]> };
}

export interface LoadOptions {
  /** Parameter values instead of the defaults compiled into the module; checked and encoded once. */
  config?: Record<string, FactValue>;
  /** A topology document kept in the instance for facts that have no `topology` of their own;
   * checked and encoded once, with its graph index. */
  topology?: Record<string, FactValue | undefined>;
}

/** A module that cannot be loaded: not WebAssembly, not a policy module, another ABI version. */
export class LoadError extends Error {}

/** A decision that could not be made: the module trapped or broke the contract. */
export class EvalError extends Error {}

/** Facts that do not fit the schema. */
export class FactsError extends Error {
  /** Where in the facts (`change.files[3].path`), or "" for the whole. */
  readonly path: string;
  /** What is wrong. */
  readonly reason: string;
}

/** A number written in JSON text with a fraction or an exponent (refused where an integer is expected). */
export class JsonFloat {
  readonly value: number;
}

/** Parse JSON text keeping integers exact (bigints beyond 2^53). */
export function parseJson(text: string): unknown;

export class Policy {
  private constructor();
  /** Compile and check a module written by `blastwall build`, and make its first instance. */
  static load(source: Uint8Array | ArrayBuffer | WebAssembly.Module, options?: LoadOptions): Promise<Policy>;
  readonly metadata: Metadata;
  /** Decide on facts. Throws `FactsError` for facts that do not fit the schema or whose
   * `action` has a `command` but no `commands` or `parse_error` (classify it with
   * `blastwall check --action` first), and `EvalError` when the module traps (the next call
   * uses a fresh instance). */
  evaluate(facts: Facts): Decision;
  /** Like `evaluate`, on JSON text; integers keep every digit. */
  evaluateJson(text: string): Decision;
}
