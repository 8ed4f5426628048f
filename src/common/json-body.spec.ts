import { inheritedNames, MAX_JSON_DEPTH, nestingDepth } from './json-body';

describe('nestingDepth', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(nestingDepth('{"a":[1,{"b":"[[[{{{"}]}', 99)).toBe(3);
    expect(nestingDepth('"\\"[[["', 99)).toBe(0);
    expect(nestingDepth('[]', 99)).toBe(1);
    expect(nestingDepth('7', 99)).toBe(0);
  });

  it('stops counting just past the limit, however deep the text goes', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(nestingDepth(deep, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
    expect(nestingDepth('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH);
  });
});

describe('inheritedNames', () => {
  const names = [...Object.getOwnPropertyNames(Object.prototype), '__proto__'];

  it.each(names)('finds %s as a key, nested in objects and arrays', (name) => {
    expect(inheritedNames(JSON.parse(`{"${name}":1}`))).toEqual([name]);
    expect(inheritedNames(JSON.parse(`{"callback":[{"event_type":"x","${name}":1}]}`))).toEqual([`callback[0].${name}`]);
  });

  it('leaves ordinary keys and values alone, also values named like members', () => {
    expect(inheritedNames({ callback: [{ event_type: 'toString', topic_urn: 'constructor' }] })).toEqual([]);
  });
});
