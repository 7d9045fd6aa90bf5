-- Listings and their stock: `stock` is what can still be sold, `reserved` is held by unpaid
-- orders; a reservation moves units from one to the other in a single conditional UPDATE.
CREATE TABLE listings (
    id           uuid PRIMARY KEY,
    seller_id    text NOT NULL,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    price_amount bigint NOT NULL CHECK (price_amount > 0),
    currency     text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    stock        integer NOT NULL CHECK (stock >= 0),
    reserved     integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    sold         integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX listings_seller ON listings (seller_id, created_at DESC);
CREATE INDEX listings_created ON listings (created_at DESC, id DESC);

CREATE TABLE checkouts (
    id           uuid PRIMARY KEY,
    buyer_id     text NOT NULL,
    currency     text NOT NULL,
    total_amount bigint NOT NULL CHECK (total_amount > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    order_number     text NOT NULL UNIQUE,
    checkout_id      uuid NOT NULL REFERENCES checkouts (id),
    buyer_id         text NOT NULL,
    buyer_email      text,
    seller_id        text NOT NULL,
    status           text NOT NULL,
    currency         text NOT NULL,
    subtotal_amount  bigint NOT NULL,
    total_amount     bigint NOT NULL,
    shipping_address jsonb NOT NULL,
    carrier          text,
    tracking_number  text,
    expires_at       timestamptz NOT NULL,
    auto_confirm_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_buyer ON orders (buyer_id, created_at DESC, id DESC);
CREATE INDEX orders_seller ON orders (seller_id, created_at DESC, id DESC);
CREATE INDEX orders_checkout ON orders (checkout_id);
-- The durable timers scan only what can be due.
CREATE INDEX orders_expiring ON orders (expires_at) WHERE status = 'pending_payment';
CREATE INDEX orders_auto_confirm ON orders (auto_confirm_at) WHERE status = 'shipped';

CREATE TABLE order_items (
    order_id          uuid NOT NULL REFERENCES orders (id),
    position          integer NOT NULL,
    listing_id        uuid NOT NULL REFERENCES listings (id),
    title             text NOT NULL,
    quantity          integer NOT NULL CHECK (quantity > 0),
    unit_price_amount bigint NOT NULL,
    line_total_amount bigint NOT NULL,
    PRIMARY KEY (order_id, position)
);

CREATE TABLE order_history (
    id          bigserial PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id),
    from_status text,
    to_status   text NOT NULL,
    actor       text NOT NULL,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_history_order ON order_history (order_id, id);

CREATE TABLE order_tracking (
    id          bigserial PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id),
    status      text NOT NULL,
    location    text,
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_tracking_order ON order_tracking (order_id, occurred_at);
