-- A message whose id an earlier message of its channel already has, with other content, is
-- kept under a new id (`<id>~2`, `<id>~3`, ...), and the id it arrived with is kept here, so
-- that `weft explain` can say so. NULL for every other message. Same content under the same
-- id is a true duplicate and is not stored twice.
-- Keep the sqlite and postgres files of this migration in step.
ALTER TABLE messages ADD COLUMN arrived_as TEXT;
