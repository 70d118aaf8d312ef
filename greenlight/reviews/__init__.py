"""Reviews: a persona's policy for changing production, and the promotion requests it makes.

With approvals required, a promotion does not apply when its turn comes: the engine records a
promotion request pinned to the content it would promote (``gate``) and parks the operation.
Members vote (``votes``); the last approval puts the same operation back in the persona's order,
where it applies exactly as an unreviewed one would, if the content is still what was approved.
Any change to the draft or to production meanwhile makes the request stale and voids its votes.
"""
