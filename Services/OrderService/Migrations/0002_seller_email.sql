-- The seller's mail address as their token had it when the listing was created, copied onto
-- each order and carried in OrderSnapshot.sellerEmail for NotificationService.
ALTER TABLE listings ADD COLUMN seller_email text;
ALTER TABLE orders ADD COLUMN seller_email text;
