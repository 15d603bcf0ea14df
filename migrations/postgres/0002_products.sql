-- The fuels every station sells; prices are set by HQ through the API.
INSERT INTO products (code, name, created_at) VALUES
    ('92', '92# 汽油', 0),
    ('95', '95# 汽油', 0),
    ('98', '98# 汽油', 0),
    ('0', '0# 柴油', 0),
    ('-10', '-10# 柴油', 0);
