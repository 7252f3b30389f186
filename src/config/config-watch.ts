// The configuration prefix kept in step with etcd: the generic prefix watcher feeding a ConfigStore, each batch of
// events committed as one change naming the objects it touched.
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../logger.js';
import type { StoredKeyValue } from '../registry/store.js';
import { PrefixWatcher } from '../registry/watcher.js';
import { ConfigStore, type ConfigLastGoodRecords } from './store.js';
import type { ConfigChange, ConfigView } from './types.js';

export const DEFAULT_CONFIG_PREFIX = '/etcd-xds/config/';

export interface ConfigWatchChange {
  changes: readonly ConfigChange[];
  view: ConfigView;
  changeSeenAt: number;
}

type Listing = StoredKeyValue[];

export class ConfigWatch {
  readonly store: ConfigStore;
  readonly watcher: PrefixWatcher<ConfigWatchChange, Listing>;
  private pending: ConfigChange[] = [];

  constructor(options: { client: Etcd3; prefix: string; logger: Logger; lastGood?: ConfigLastGoodRecords }) {
    this.store = new ConfigStore({ prefix: options.prefix, logger: options.logger, ...(options.lastGood ? { lastGood: options.lastGood } : {}) });
    this.watcher = new PrefixWatcher<ConfigWatchChange, Listing>({ client: options.client, prefix: options.prefix, logger: options.logger }, {
      applyPut: (key, value, _lease, modRevision) => this.note(this.store.applyPut(key, value, modRevision)),
      applyDelete: (key, modRevision) => this.note(this.store.applyDelete(key, modRevision)),
      beginReplacement: () => [],
      addPage: (listing, kvs) => void listing.push(...kvs),
      finishReplacement: (listing, revision) => {
        for (const change of this.store.replaceAll(listing, revision)) this.note(change);
      },
      commit: (changeSeenAt) => {
        const changes = this.pending;
        this.pending = [];
        return { changes, view: this.store.view(), changeSeenAt };
      },
    });
  }

  view(): ConfigView {
    return this.store.view();
  }

  private note(change: ConfigChange | undefined): void {
    if (change) this.pending.push(change);
  }
}
