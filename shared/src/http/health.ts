/**
 * What a service's /healthz and /readyz answer. `live` is false once the service has
 * failed for good (an orchestrator should restart it); `ready` is true only while it
 * does its job (the extractor snapshotting or streaming, the loader consuming with
 * PostgreSQL reachable, the verifier having produced a verdict). `reason` is one line.
 */
export interface HealthState {
  live: boolean;
  ready: boolean;
  reason: string;
}

/** A service's health as its loop moves between states; read by the HTTP server. */
export class Health {
  private current: HealthState;

  constructor(reason = 'starting') {
    this.current = { live: true, ready: false, reason };
  }

  ready(reason: string): void {
    if (this.current.live) this.current = { live: true, ready: true, reason };
  }

  notReady(reason: string): void {
    if (this.current.live) this.current = { live: true, ready: false, reason };
  }

  /** Failed for good: no later state change makes it live again. */
  failed(reason: string): void {
    this.current = { live: false, ready: false, reason };
  }

  get state(): HealthState {
    return this.current;
  }
}
