-- Mails that wait for their recipient's address are looked up by recipient on every event that
-- may bring one: among the few that wait, not among all of a busy seller's mails (that scan grew
-- with the table and became NotificationService's costliest statement under load).
CREATE INDEX notifications_waiting_for_address ON notifications (recipient_id)
    WHERE recipient_email IS NULL AND status = 'failed';
