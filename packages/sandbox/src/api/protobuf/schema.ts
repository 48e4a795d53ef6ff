/**
 * The message tables the protobuf decoder reads, written as compactly as the Go structs they
 * come from: one line per field, `'<jsonName> [type] [flags]'` under its protobuf field number.
 *
 * - type: `string` (the default), `bytes`, `int32`, `int64`, `bool`, `double`; a well-known
 *   apimachinery type (`Time`, `MicroTime`, `Quantity`, `IntOrString`, `FieldsV1`); a message
 *   of the same package (`Container`) or of another (`meta.ObjectMeta`); `[]T` for a repeated
 *   field; `map[string]T` for a map.
 * - `ptr`: the Go field is a pointer (or must keep its zero), so a zero on the wire is kept.
 *   Go writes every non-pointer scalar, even when empty; JSON omits those, and so do we.
 * - `inline`: an embedded Go struct that JSON inlines (`json:",inline"`) but protobuf nests
 *   (Volume's VolumeSource, Probe's ProbeHandler): its fields land in the parent object.
 *
 * Field numbers are copied from the `protobuf:"..."` tags of k8s.io/api and k8s.io/apimachinery
 * (the source of their generated.proto files), never guessed.
 */

export type MessageSpec = Readonly<Record<number, string>>;
export type PackageSpec = Readonly<Record<string, MessageSpec>>;

export type Scalar = 'string' | 'bytes' | 'int32' | 'int64' | 'bool' | 'double';
export type WellKnown = 'Time' | 'MicroTime' | 'Quantity' | 'IntOrString' | 'FieldsV1';

export type ValueType =
  | { kind: 'scalar'; scalar: Scalar }
  | { kind: 'wellKnown'; name: WellKnown }
  | { kind: 'message'; message: Message };

export interface Field {
  number: number;
  name: string;
  type: ValueType;
  repeated: boolean;
  map: boolean;
  keepZero: boolean;
  inline: boolean;
}

export interface Message {
  /** `package.Name`, as the tables spell it; used in error messages. */
  name: string;
  fields: Map<number, Field>;
}

const SCALARS = new Set<string>(['string', 'bytes', 'int32', 'int64', 'bool', 'double']);
const WELL_KNOWN = new Set<string>(['Time', 'MicroTime', 'Quantity', 'IntOrString', 'FieldsV1']);
const FLAGS = new Set(['ptr', 'inline']);

/** Resolves every package's tables into linked messages; throws on a table that does not parse. */
export function buildRegistry(packages: Readonly<Record<string, PackageSpec>>): Map<string, Message> {
  const registry = new Map<string, Message>();
  for (const [pkg, messages] of Object.entries(packages))
    for (const name of Object.keys(messages))
      registry.set(`${pkg}.${name}`, { name: `${pkg}.${name}`, fields: new Map() });

  const resolve = (pkg: string, typeName: string, where: string): ValueType => {
    if (SCALARS.has(typeName)) return { kind: 'scalar', scalar: typeName as Scalar };
    if (WELL_KNOWN.has(typeName)) return { kind: 'wellKnown', name: typeName as WellKnown };
    const message = registry.get(typeName.includes('.') ? typeName : `${pkg}.${typeName}`);
    if (!message) throw new Error(`protobuf table ${where}: unknown type ${typeName}`);
    return { kind: 'message', message };
  };

  for (const [pkg, messages] of Object.entries(packages)) {
    for (const [name, spec] of Object.entries(messages)) {
      const message = registry.get(`${pkg}.${name}`)!;
      for (const [numberText, text] of Object.entries(spec)) {
        const where = `${pkg}.${name}.${numberText}`;
        const [jsonName = '', typeText = 'string', ...flags] = text.split(' ');
        const unknownFlag = flags.find((flag) => !FLAGS.has(flag));
        if (!jsonName || unknownFlag) throw new Error(`protobuf table ${where}: cannot read '${text}'`);
        const repeated = typeText.startsWith('[]');
        const map = typeText.startsWith('map[string]');
        const element = repeated ? typeText.slice(2) : map ? typeText.slice('map[string]'.length) : typeText;
        const type = resolve(pkg, element, where);
        const inline = flags.includes('inline');
        if (inline && (type.kind !== 'message' || repeated || map))
          throw new Error(`protobuf table ${where}: only a single message can be inline`);
        message.fields.set(Number(numberText), {
          number: Number(numberText),
          name: jsonName,
          type,
          repeated,
          map,
          keepZero: flags.includes('ptr'),
          inline,
        });
      }
    }
  }
  return registry;
}
