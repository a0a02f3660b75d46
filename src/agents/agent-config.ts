/**
 * Config resolution of the baselines: documented defaults merged with the
 * overrides given to the registry factory (from `--config FILE` or the
 * training loop, e.g. `batchSize`). Unknown keys and wrong types are errors
 * that name the key and list what is accepted, so a typo never silently
 * falls back to a default.
 */

/** A config value: number, boolean, string, number array, or a nested object of those. */
type ConfigValue = number | boolean | string | readonly number[] | { readonly [k: string]: ConfigValue };

/** Invalid agent configuration. */
export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

/**
 * Returns a deep copy of `defaults` with `overrides` applied. Nested objects
 * merge key by key; arrays replace. Throws {@link AgentConfigError} on an
 * unknown key or a value of the wrong type.
 */
export function resolveConfig<T extends object>(agent: string, defaults: T, overrides: Record<string, unknown> | undefined): T {
  const out = structuredClone(defaults) as Record<string, ConfigValue>;
  if (overrides === undefined) return out as T;
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new AgentConfigError(`${agent}: config must be an object of overrides, got ${JSON.stringify(overrides)}`);
  }
  merge(agent, '', out, defaults as Record<string, ConfigValue>, overrides);
  return out as T;
}

function merge(
  agent: string,
  prefix: string,
  out: Record<string, ConfigValue>,
  defaults: Record<string, ConfigValue>,
  overrides: Record<string, unknown>,
): void {
  for (const [key, value] of Object.entries(overrides)) {
    const path = prefix + key;
    if (!(key in defaults)) {
      throw new AgentConfigError(
        `${agent}: unknown config key "${path}"; known keys: ${Object.keys(defaults)
          .map((k) => prefix + k)
          .join(', ')}`,
      );
    }
    const d = defaults[key]!;
    if (Array.isArray(d)) {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
        throw new AgentConfigError(`${agent}: config "${path}" must be an array of finite numbers, got ${JSON.stringify(value)}`);
      }
      out[key] = value.slice() as number[];
    } else if (typeof d === 'object') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new AgentConfigError(`${agent}: config "${path}" must be an object with keys ${Object.keys(d).join(', ')}, got ${JSON.stringify(value)}`);
      }
      merge(agent, `${path}.`, out[key] as Record<string, ConfigValue>, d as Record<string, ConfigValue>, value as Record<string, unknown>);
    } else if (typeof d === 'number') {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new AgentConfigError(`${agent}: config "${path}" must be a finite number, got ${JSON.stringify(value)}`);
      out[key] = value;
    } else if (typeof value !== typeof d) {
      throw new AgentConfigError(`${agent}: config "${path}" must be a ${typeof d}, got ${JSON.stringify(value)}`);
    } else {
      out[key] = value as ConfigValue;
    }
  }
}

/** Throws unless `value` is an integer in [min, max]. */
export function requireInt(agent: string, key: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new AgentConfigError(`${agent}: config "${key}" must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/** Throws unless `value` lies in [min, max] (exclusive bounds when `open`). */
export function requireRange(agent: string, key: string, value: number, min: number, max: number, open = false): void {
  const ok = open ? value > min && value < max : value >= min && value <= max;
  if (!ok) throw new AgentConfigError(`${agent}: config "${key}" must be in ${open ? '(' : '['}${min}, ${max}${open ? ')' : ']'}, got ${value}`);
}

/** Throws unless `hidden` is a non-empty list of positive integers. */
export function requireHidden(agent: string, key: string, hidden: readonly number[]): void {
  if (hidden.length === 0 || hidden.some((h) => !Number.isInteger(h) || h < 1)) {
    throw new AgentConfigError(`${agent}: config "${key}" must be a non-empty list of positive integers, got ${JSON.stringify(hidden)}`);
  }
}
