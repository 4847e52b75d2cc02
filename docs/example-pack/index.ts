// An example node pack: load it with `kosmos-g run --plugin docs/example-pack ...`, KOSMOS_G_PLUGINS or
// kosmos-g.config.json. A pack is a folder whose index.ts (or index.js) default-exports definePack(name, nodes).
// A pack outside this repository imports the engine by path, or skips the helpers entirely: definePack and
// defineNode only add types; a plain `{ name, nodes: [...] }` object works the same.
import { defineNode, definePack, KosmosError } from '../../engine/index.ts';

/** Joins two texts: both are widgets, so either can also be fed by a STRING link. */
export const TextJoin = defineNode({
  type: 'ExampleTextJoin',
  category: 'example/text',
  description: 'first + separator + second.',
  inputs: {},
  widgets: {
    first: { kind: 'STRING', default: '' },
    second: { kind: 'STRING', default: '' },
    separator: { kind: 'ENUM', options: [' ', ', ', '\n'], default: ' ' },
  },
  outputs: { text: { type: 'STRING' } },
  execute: ({ first, second, separator }) => ({ text: `${first}${separator}${second}` }),
});

/** Repeats a text: shows progress, cancellation and a user error with a code. */
export const TextRepeat = defineNode({
  type: 'ExampleTextRepeat',
  category: 'example/text',
  description: 'The text repeated `times` times.',
  inputs: { text: { type: 'STRING' } },
  widgets: { times: { kind: 'INT', default: 2, min: 0, max: 1000 } },
  outputs: { text: { type: 'STRING' }, length: { type: 'INT' } },
  execute: ({ text, times }, ctx) => {
    if (text.length * times > 1_000_000) {
      throw new KosmosError('EXAMPLE_TOO_LONG', `node "${ctx.nodeId}": the result would exceed a million characters`, { exitCode: 1 });
    }
    let out = '';
    for (let i = 0; i < times; i++) {
      ctx.progress({ value: i + 1, max: times }); // also a cancellation point
      out += text;
    }
    return { text: out, length: out.length };
  },
});

export default definePack('example', [TextJoin, TextRepeat]);
