-- Models steps learned from this store's data (`weft train identity` stores `identity`): the
-- JSON the trainer wrote, and a version that grows with every training, which steps read
-- through their context to know when to read the model again.
CREATE TABLE models (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    trained_at BIGINT NOT NULL
);
