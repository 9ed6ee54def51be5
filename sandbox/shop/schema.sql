-- The synthetic online shop: the operational MySQL/MariaDB schema lakeshop ingests.
-- Text columns are VARCHAR (not ENUM) on purpose: real shops hold values nobody expected.
-- No ON DELETE CASCADE: InnoDB cascades are not written to the row-based binlog, so a
-- CDC reader would never see those deletes. The application deletes children explicitly.

CREATE TABLE categories (
    category_id   INT UNSIGNED NOT NULL AUTO_INCREMENT,
    slug          VARCHAR(64)  NOT NULL,
    name          VARCHAR(128) NOT NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (category_id),
    UNIQUE KEY uq_categories_slug (slug)
) ENGINE=InnoDB;

CREATE TABLE products (
    product_id    INT UNSIGNED NOT NULL AUTO_INCREMENT,
    sku           VARCHAR(32)  NOT NULL,
    title         VARCHAR(255) NOT NULL,
    brand         VARCHAR(128) NULL,
    category_id   INT UNSIGNED NOT NULL,
    price         DECIMAL(12,2) NOT NULL,
    cost          DECIMAL(12,2) NOT NULL,
    is_active     TINYINT(1)   NOT NULL DEFAULT 1,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (product_id),
    UNIQUE KEY uq_products_sku (sku),
    KEY ix_products_category (category_id),
    CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (category_id)
) ENGINE=InnoDB;

CREATE TABLE customers (
    customer_id   INT UNSIGNED NOT NULL AUTO_INCREMENT,
    email         VARCHAR(255) NULL,
    phone         VARCHAR(64)  NULL,
    first_name    VARCHAR(128) NULL,
    last_name     VARCHAR(128) NULL,
    birth_date    DATE         NULL,
    marketing_opt_in TINYINT(1) NOT NULL DEFAULT 0,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (customer_id),
    KEY ix_customers_email (email)
) ENGINE=InnoDB;

CREATE TABLE addresses (
    address_id    INT UNSIGNED NOT NULL AUTO_INCREMENT,
    customer_id   INT UNSIGNED NOT NULL,
    line1         VARCHAR(255) NOT NULL,
    city          VARCHAR(128) NOT NULL,
    postal_code   VARCHAR(32)  NULL,
    country       VARCHAR(64)  NOT NULL,
    is_default    TINYINT(1)   NOT NULL DEFAULT 0,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (address_id),
    KEY ix_addresses_customer (customer_id),
    CONSTRAINT fk_addresses_customer FOREIGN KEY (customer_id) REFERENCES customers (customer_id)
) ENGINE=InnoDB;

CREATE TABLE orders (
    order_id      INT UNSIGNED NOT NULL AUTO_INCREMENT,
    customer_id   INT UNSIGNED NOT NULL,
    shipping_address_id INT UNSIGNED NULL,
    status        VARCHAR(32)  NOT NULL,
    currency      CHAR(3)      NOT NULL DEFAULT 'USD',
    total_amount  DECIMAL(12,2) NOT NULL,
    placed_at     DATETIME(6)  NOT NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (order_id),
    KEY ix_orders_customer (customer_id),
    KEY ix_orders_placed_at (placed_at),
    KEY ix_orders_status (status),
    CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (customer_id),
    CONSTRAINT fk_orders_address FOREIGN KEY (shipping_address_id) REFERENCES addresses (address_id)
) ENGINE=InnoDB;

CREATE TABLE order_items (
    order_item_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    order_id      INT UNSIGNED NOT NULL,
    product_id    INT UNSIGNED NOT NULL,
    quantity      INT          NOT NULL,
    unit_price    DECIMAL(12,2) NOT NULL,
    discount_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (order_item_id),
    KEY ix_order_items_order (order_id),
    KEY ix_order_items_product (product_id),
    CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (order_id),
    CONSTRAINT fk_order_items_product FOREIGN KEY (product_id) REFERENCES products (product_id)
) ENGINE=InnoDB;

CREATE TABLE payments (
    payment_id    INT UNSIGNED NOT NULL AUTO_INCREMENT,
    order_id      INT UNSIGNED NOT NULL,
    method        VARCHAR(32)  NOT NULL,
    status        VARCHAR(32)  NOT NULL,
    amount        DECIMAL(12,2) NOT NULL,
    paid_at       DATETIME(6)  NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (payment_id),
    KEY ix_payments_order (order_id),
    CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (order_id)
) ENGINE=InnoDB;

CREATE TABLE shipments (
    shipment_id   INT UNSIGNED NOT NULL AUTO_INCREMENT,
    order_id      INT UNSIGNED NOT NULL,
    carrier       VARCHAR(32)  NOT NULL,
    tracking_number VARCHAR(64) NOT NULL,
    status        VARCHAR(32)  NOT NULL,
    shipped_at    DATETIME(6)  NULL,
    delivered_at  DATETIME(6)  NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (shipment_id),
    KEY ix_shipments_order (order_id),
    CONSTRAINT fk_shipments_order FOREIGN KEY (order_id) REFERENCES orders (order_id)
) ENGINE=InnoDB;
