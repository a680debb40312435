-- Webhooks refused by their channel (a missing or wrong signature) are kept as dead letters:
-- the raw request in `inbound` with state `refused` and a digest of its own namespace, so a
-- genuine delivery of the same body is never taken for it. The live loop counts a hook's open
-- refusals against a cap before keeping another, which this index answers.
-- Keep the sqlite and postgres files of this migration in step.
CREATE INDEX inbound_refused ON inbound (hook) WHERE state = 'refused';
