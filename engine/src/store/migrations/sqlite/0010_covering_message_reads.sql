-- Messages by ticket and by customer: read from the indexes alone, and indexed once assigned.
-- Keep the sqlite and postgres files of this migration in step.
--
-- The merger reads, for every message, the latest messages of the ticket it may join and the
-- ticket of the message it answers. Both reads found the rows by an index and then visited
-- each row in the table, where a message's row (its whole JSON) lies wherever it arrived: one
-- read touched as many scattered pages as it returned messages. With the columns they return
-- in the index too, they read the index alone.
--
-- A message is stored without customer and ticket, and gets them when the steps decide. The
-- indexes by ticket and by customer held every waiting message under NULL, so deciding a
-- message moved its entries in both; they now hold assigned messages only (a lookup by ticket
-- or by customer never asks for NULL).
DROP INDEX messages_ticket;
CREATE INDEX messages_ticket ON messages
    (ticket_number, at, id, external_id, sender_key, subject, body_fingerprint, duplicate_of)
    WHERE ticket_number IS NOT NULL;
DROP INDEX messages_customer;
CREATE INDEX messages_customer ON messages (customer_id, at) WHERE customer_id IS NOT NULL;
DROP INDEX messages_external_id;
CREATE INDEX messages_external_id ON messages (external_id, ticket_number);
