//! The generated catalog: categories with their codes (and the December-2019 re-key), products
//! with brands and prices per brand, null brands and codes as the real dump has them.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use super::behaviour::CatalogBehaviour;

use super::write::Event;

pub(super) struct Category {
    pub(super) code: &'static str,
    /// The wrong code REES46 gave it from December 2019.
    pub(super) rekeyed_code: &'static str,
    pub(super) brands: &'static [(&'static str, f64, f64)], // (brand, weight, median price)
    pub(super) weight: f64,
}

pub(super) const CATEGORIES: &[Category] = &[
    Category {
        code: "electronics.clocks",
        rekeyed_code: "appliances.personal.massager",
        brands: &[
            ("samsung", 5.0, 180.0),
            ("apple", 4.0, 390.0),
            ("xiaomi", 4.0, 45.0),
            ("huawei", 2.0, 120.0),
            ("garmin", 1.5, 260.0),
            ("casio", 2.0, 70.0),
            ("amazfit", 1.5, 60.0),
        ],
        weight: 3.0,
    },
    Category {
        code: "electronics.smartphone",
        rekeyed_code: "construction.tools.light",
        brands: &[
            ("samsung", 6.0, 250.0),
            ("apple", 5.0, 800.0),
            ("xiaomi", 5.0, 160.0),
            ("huawei", 3.0, 200.0),
            ("oppo", 1.0, 180.0),
        ],
        weight: 3.0,
    },
    Category {
        code: "computers.notebook",
        rekeyed_code: "furniture.living_room.cabinet",
        brands: &[
            ("lenovo", 3.0, 600.0),
            ("hp", 3.0, 550.0),
            ("asus", 2.0, 650.0),
            ("apple", 1.0, 1400.0),
        ],
        weight: 1.0,
    },
    Category {
        code: "appliances.kitchen.refrigerators",
        rekeyed_code: "appliances.kitchen.refrigerators",
        brands: &[
            ("lg", 2.0, 500.0),
            ("samsung", 2.0, 600.0),
            ("bosch", 1.0, 700.0),
        ],
        weight: 1.0,
    },
    Category {
        code: "apparel.shoes",
        rekeyed_code: "apparel.shoes",
        brands: &[
            ("nike", 2.0, 90.0),
            ("adidas", 2.0, 80.0),
            ("puma", 1.0, 60.0),
        ],
        weight: 1.0,
    },
];

pub(super) struct Product {
    id: i64,
    pub(super) category: usize,
    brand: Option<&'static str>,
    price: f64,
    /// No `category_code` on any row (REES46 has many such products).
    pub(super) uncoded: bool,
    /// Re-keyed to a wrong code from December 2019.
    rekeyed: bool,
}

pub(super) struct Catalog {
    pub(super) products: Vec<Product>,
    /// Indices of products per (category, brand index).
    pub(super) by_brand: Vec<Vec<Vec<usize>>>,
    category_ids: Vec<(i64, i64)>, // (before, after the re-key)
}

pub(super) fn build_catalog(rng: &mut ChaCha8Rng, b: &CatalogBehaviour) -> Catalog {
    let mut products = Vec::new();
    let mut by_brand = Vec::new();
    let mut category_ids = Vec::new();
    for (ci, cat) in CATEGORIES.iter().enumerate() {
        category_ids.push((
            2_053_013_550_000_000_000 + ci as i64 * 1_000_003,
            2_232_732_080_000_000_000 + ci as i64 * 999_983,
        ));
        let mut per_brand = Vec::new();
        for &(brand, _, median) in cat.brands {
            let n = rng.random_range(b.products_per_brand.clone());
            let mut ids = Vec::new();
            for _ in 0..n {
                // The spread's median is 1, so the brand's median price is the product's.
                let spread = LogNormal::new(0.0, b.price_sigma)
                    .map(|d| d.sample(rng))
                    .unwrap_or(1.0);
                let price = ((median * spread) * 100.0).round() / 100.0;
                ids.push(products.len());
                products.push(Product {
                    id: 1_000_000 + products.len() as i64 * 7 + rng.random_range(0..7),
                    category: ci,
                    brand: if rng.random_bool(b.unbranded) {
                        None
                    } else {
                        Some(brand)
                    },
                    price,
                    uncoded: rng.random_bool(b.uncoded),
                    rekeyed: rng.random_bool(b.rekeyed),
                });
            }
            per_brand.push(ids);
        }
        by_brand.push(per_brand);
    }
    Catalog {
        products,
        by_brand,
        category_ids,
    }
}

pub(super) fn pick_weighted(
    rng: &mut ChaCha8Rng,
    weights: impl Iterator<Item = f64> + Clone,
) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
        last = i;
    }
    last
}

impl Catalog {
    /// The code product `p` shows at `ts` (when its row has one).
    pub(super) fn code_at(&self, p: usize, ts: i64, rekey_at: i64) -> &'static str {
        let prod = &self.products[p];
        if ts >= rekey_at && prod.rekeyed {
            CATEGORIES[prod.category].rekeyed_code
        } else {
            CATEGORIES[prod.category].code
        }
    }

    /// Product `p`'s row at `ts`: what the generator makes and what a spilled run is read back as.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn event(
        &self,
        p: usize,
        ts: i64,
        event_type: &'static str,
        category_code: Option<&'static str>,
        user_id: i64,
        session: Option<u128>,
        rekey_at: i64,
    ) -> Event {
        let prod = &self.products[p];
        Event {
            ts,
            event_type,
            product_id: prod.id,
            category_id: self.category_id_at(p, ts, rekey_at),
            category_code,
            brand: prod.brand,
            price: prod.price,
            user_id,
            session,
            product: p as u32,
        }
    }

    fn category_id_at(&self, p: usize, ts: i64, rekey_at: i64) -> i64 {
        let (before, after) = self.category_ids[self.products[p].category];
        if ts >= rekey_at { after } else { before }
    }
}
