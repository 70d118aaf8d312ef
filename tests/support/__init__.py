"""Helpers shared by the test tiers, one module per purpose.

- `processes`: starting and stopping real API, worker, beat and Flower processes; artifacts.
- `http`: API keys and small HTTP helpers (personas, operations, seed 002's drafts).
- `tenants`: tenants and the route table the abuse tests walk.
- `concurrency`: identical requests released at one instant against several API processes.
- `console`: the web console driven by a headless browser.
- `notify`, `webhooks`: webhook receivers on loopback and their checks.
- `workloads`, `invariants`: domain-level workloads for fault tests, and what must hold after them.
"""
