/**
 * Kubernetes Events as the kubelet and controllers record them. Actions read these to explain
 * a failed rollout, so reasons and messages follow the real components' wording. A repeated
 * event bumps `count` on the existing object instead of adding one, as the real recorder does.
 */
import { randomBytes } from 'node:crypto';
import type { KubeObject, Store } from '../store.js';
import { kubeTime, T } from './util.js';

export type EventType = 'Normal' | 'Warning';

/** Total Events kept; the oldest go first, as the API server's event TTL would drop them. */
const MAX_EVENTS = 2000;

export class EventRecorder {
  private readonly byKey = new Map<string, { namespace: string; name: string }>();
  private readonly order: string[] = [];

  constructor(
    private readonly store: Store,
    private readonly host = 'sandbox-node',
  ) {}

  record(
    involved: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    component: string,
    fieldPath?: string,
  ): void {
    const namespace = involved.metadata.namespace;
    const objectName = involved.metadata.name;
    if (!namespace || !objectName) return;
    const key = `${involved.metadata.uid ?? ''}|${reason}|${message}`;
    const now = kubeTime();
    try {
      const known = this.byKey.get(key);
      const existing = known ? this.store.get(T.events, known.namespace, known.name) : undefined;
      if (existing) {
        existing.count = ((existing.count as number | undefined) ?? 1) + 1;
        existing.lastTimestamp = now;
        this.store.update(T.events, {
          ...existing,
          metadata: { ...existing.metadata, resourceVersion: undefined },
        });
        return;
      }
      const name = `${objectName}.${randomBytes(8).toString('hex')}`;
      this.store.create(T.events, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: involved.apiVersion,
          kind: involved.kind,
          namespace,
          name: objectName,
          uid: involved.metadata.uid,
          resourceVersion: involved.metadata.resourceVersion,
          ...(fieldPath ? { fieldPath } : {}),
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: component === 'kubelet' ? { component, host: this.host } : { component },
        reportingComponent: component,
        reportingInstance: component === 'kubelet' ? this.host : '',
      });
      this.byKey.set(key, { namespace, name });
      this.order.push(key);
      this.trim();
    } catch {
      // Events are best effort, as in Kubernetes: a deleted namespace must not break a controller.
    }
  }

  private trim(): void {
    while (this.order.length > MAX_EVENTS) {
      const oldest = this.order.shift();
      const ref = oldest ? this.byKey.get(oldest) : undefined;
      if (!oldest || !ref) continue;
      this.byKey.delete(oldest);
      if (this.store.get(T.events, ref.namespace, ref.name))
        this.store.delete(T.events, ref.namespace, ref.name);
    }
  }
}
