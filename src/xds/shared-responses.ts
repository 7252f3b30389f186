// The responses of one push, shared between the streams owed the same one (same protocol, type, version, resources
// and removals): one object, nonce included, so it is encoded once and the same bytes go to every such stream, the way
// a bare server would write one buffer to all. A nonce needs to be unique within a stream only: each push's shared
// nonces are new ones, and a stream gets at most one response of a type per push.
import type { EncodedResource, TypeUrl } from '../snapshot/types.js';
import type { XdsProtocol } from './types.js';
import type { XdsResponse } from './wire.js';

/** Above this many names a response's key costs more than sharing saves, unless it is a whole set (keyed by version). */
const MAX_KEYED_NAMES = 256;

let pushes = 0;

export class SharedResponses {
  private readonly push = ++pushes;
  private responses = 0;
  private readonly byKey = new Map<string, XdsResponse>();

  /**
   * The response for these contents: the one built earlier in this push, or a new one. `wholeSet`: the resources are
   * a whole resource map, which the version alone identifies. Undefined when the response is not worth sharing.
   */
  responseFor(
    protocol: XdsProtocol,
    typeUrl: TypeUrl,
    version: string,
    resources: readonly EncodedResource[],
    removed: readonly string[],
    wholeSet = false,
  ): XdsResponse | undefined {
    let key: string;
    if (wholeSet) key = `${protocol}\n${typeUrl}\n${version}\nwhole`;
    else if (resources.length + removed.length <= MAX_KEYED_NAMES) {
      key = `${protocol}\n${typeUrl}\n${version}\n${resources.map((r) => `${r.name}@${r.version}`).join('\n')}\n-\n${removed.join('\n')}`;
    } else return undefined;
    let response = this.byKey.get(key);
    if (!response) {
      response = { typeUrl, nonce: `p${this.push}-${++this.responses}`, version, resources, removed };
      this.byKey.set(key, response);
    }
    return response;
  }
}
