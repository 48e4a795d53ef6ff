/** What the API server asks of the simulated cluster for subresources that reach into workloads. */
export interface ClusterHooks {
  /**
   * Where `services/<name>[:port]/proxy` goes: the loopback address of a ready pod behind the
   * Service's port (by port name or number, or the first port), or undefined when none is ready.
   */
  resolveServiceProxy(
    namespace: string,
    service: string,
    port: string | undefined,
  ): { host: string; port: number } | undefined;
  /** The text of `pods/<name>/log`, or undefined when the pod has no running container. */
  podLog(namespace: string, pod: string): string | undefined;
}
