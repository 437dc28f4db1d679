-- 0007: the number presented on calls an operator places through a trunk
-- (issue 4: per-operator caller ID for dial-out and outside calls). NULL
-- means the trunk's caller_id; the value is cleaned by
-- dialroom.CleanCallerID before it gets here.
ALTER TABLE operators ADD COLUMN caller_id TEXT;
