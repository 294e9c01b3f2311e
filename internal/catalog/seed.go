package catalog

import (
	"context"
	"fmt"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// The demo shop: a specialty coffee roaster that also sells tea and brewing
// gear. Everything goes through CreateProduct, so demo products obey every
// rule, get slugs the usual way, and are announced like any other (search
// indexes them).

type demoCategory struct {
	slug, name, parent, description string
}

// demoCategories is a function, not a package variable: no globals.
func demoCategories() []demoCategory {
	return []demoCategory{
		{"coffee", "Coffee", "", "Freshly roasted beans, roasted every Tuesday and Friday."},
		{"espresso", "Espresso", "coffee", "Blends and single origins roasted for espresso."},
		{"filter-coffee", "Filter coffee", "coffee", "Light roasts for pour-over, batch brew and French press."},
		{"tea", "Tea", "", "Loose-leaf teas from small gardens."},
		{"brewing-gear", "Brewing gear", "", "Everything to brew at home."},
		{"grinders", "Grinders", "brewing-gear", "Burr grinders for every budget."},
		{"cups-mugs", "Cups & mugs", "", "Stoneware, porcelain and glass."},
		{"accessories", "Accessories", "", "Scales, pitchers, tampers and the rest."},
	}
}

// demoKind decides a demo product's options and how its variants are priced.
type demoKind int

const (
	kindCoffee demoKind = iota // 250 g / 1 kg × whole bean / ground
	kindTea                    // 50 g / 100 g
	kindMug                    // three glazes
	kindGear                   // black / steel
	kindSingle                 // one variant
)

type demoProduct struct {
	category, title, description string
	price                        int64 // cents, for the smallest variant
	kind                         demoKind
	attrs                        map[string]string
}

func coffee(cat, title, origin, notes, process string, price int64) demoProduct {
	return demoProduct{
		category:    cat,
		title:       title,
		description: fmt.Sprintf("%s. Tasting notes: %s. Roasted in small batches and shipped within two days of roasting.", origin, notes),
		price:       price,
		kind:        kindCoffee,
		attrs:       map[string]string{"origin": origin, "notes": notes, "process": process},
	}
}

func demoProducts() []demoProduct {
	return []demoProduct{
		coffee("espresso", "Dark Horse Espresso", "Brazil and Ethiopia", "dark chocolate, cherry, molasses", "natural", 1290),
		coffee("espresso", "Milano Classic Blend", "Brazil, Colombia and India", "hazelnut, cocoa, brown sugar", "washed and natural", 1090),
		coffee("espresso", "Brazil Cerrado Espresso", "Brazil, Cerrado Mineiro", "milk chocolate, roasted almond", "pulped natural", 1150),
		coffee("espresso", "Decaf Swiss Water Espresso", "Colombia, Huila", "caramel, red apple", "Swiss Water decaf", 1250),
		coffee("espresso", "Crema Supreme", "Brazil and Vietnam", "dark cocoa, toasted bread", "natural", 990),
		coffee("espresso", "Sumatra Mandheling Espresso", "Indonesia, North Sumatra", "cedar, dark chocolate, spice", "wet hulled", 1350),
		coffee("espresso", "Night Shift Blend", "Guatemala and Brazil", "toffee, plum, cocoa nib", "washed and natural", 1190),
		coffee("espresso", "Colombia Huila Espresso", "Colombia, Huila", "panela, orange, milk chocolate", "washed", 1290),
		coffee("filter-coffee", "Ethiopia Yirgacheffe", "Ethiopia, Gedeo zone", "jasmine, bergamot, lemon", "washed", 1490),
		coffee("filter-coffee", "Kenya Nyeri AA", "Kenya, Nyeri county", "blackcurrant, grapefruit, tomato leaf", "washed", 1690),
		coffee("filter-coffee", "Guatemala Antigua", "Guatemala, Antigua valley", "cocoa, orange peel, brown sugar", "washed", 1350),
		coffee("filter-coffee", "Costa Rica Tarrazú", "Costa Rica, Tarrazú", "honey, apricot, cane sugar", "honey", 1450),
		coffee("filter-coffee", "Rwanda Huye Mountain", "Rwanda, Huye district", "red berries, black tea, lime", "washed", 1550),
		coffee("filter-coffee", "Panama Boquete Geisha", "Panama, Boquete", "jasmine, peach, bergamot", "washed", 3490),
		coffee("filter-coffee", "Peru Cajamarca", "Peru, Cajamarca", "milk chocolate, walnut, red apple", "washed", 1250),
		coffee("filter-coffee", "Honduras Santa Bárbara", "Honduras, Santa Bárbara", "stone fruit, caramel, lime", "washed", 1390),
		coffee("filter-coffee", "Burundi Kayanza", "Burundi, Kayanza province", "hibiscus, raspberry, cane sugar", "natural", 1590),
		coffee("filter-coffee", "El Salvador Pacamara", "El Salvador, Chalatenango", "grape, dark chocolate, plum", "natural", 1790),
		{category: "tea", title: "Darjeeling First Flush", description: "Spring harvest from the Castleton estate: bright, floral and muscatel.", price: 890, kind: kindTea, attrs: map[string]string{"origin": "India, Darjeeling", "caffeine": "medium"}},
		{category: "tea", title: "Sencha Kagoshima", description: "Steamed green tea with a grassy sweetness and a long umami finish.", price: 790, kind: kindTea, attrs: map[string]string{"origin": "Japan, Kagoshima", "caffeine": "medium"}},
		{category: "tea", title: "Earl Grey Supreme", description: "Ceylon black tea with Calabrian bergamot oil and cornflower petals.", price: 650, kind: kindTea, attrs: map[string]string{"origin": "Sri Lanka", "caffeine": "high"}},
		{category: "tea", title: "Assam Breakfast", description: "Malty, full-bodied black tea that takes milk well.", price: 590, kind: kindTea, attrs: map[string]string{"origin": "India, Assam", "caffeine": "high"}},
		{category: "tea", title: "Jasmine Silver Needle", description: "White tea buds scented six times with fresh jasmine blossoms.", price: 1490, kind: kindTea, attrs: map[string]string{"origin": "China, Fujian", "caffeine": "low"}},
		{category: "tea", title: "Rooibos Vanilla", description: "Caffeine-free South African rooibos with Bourbon vanilla.", price: 550, kind: kindTea, attrs: map[string]string{"origin": "South Africa", "caffeine": "none"}},
		{category: "grinders", title: "Conical Burr Hand Grinder", description: "Stainless steel 38 mm conical burrs with 40 click settings, from espresso to cold brew.", price: 8900, kind: kindGear, attrs: map[string]string{"burr": "38 mm conical"}},
		{category: "grinders", title: "Electric Flat Burr Grinder", description: "64 mm flat burrs, stepless adjustment and a single-dose hopper.", price: 34900, kind: kindGear, attrs: map[string]string{"burr": "64 mm flat", "power": "250 W"}},
		{category: "grinders", title: "Travel Hand Grinder", description: "Folding handle, fits inside an AeroPress-style brewer.", price: 5900, kind: kindSingle, attrs: map[string]string{"burr": "32 mm conical", "weight": "325 g"}},
		{category: "grinders", title: "Espresso Grinder 54 mm", description: "Timed dosing and a portafilter fork for home espresso.", price: 24900, kind: kindGear, attrs: map[string]string{"burr": "54 mm flat", "power": "200 W"}},
		{category: "brewing-gear", title: "Ceramic Pour-Over Dripper", description: "Spiral ribs and one large hole for a fast, clean cup. Takes size 02 filters.", price: 2400, kind: kindMug, attrs: map[string]string{"filter": "size 02"}},
		{category: "brewing-gear", title: "Gooseneck Kettle 1 L", description: "Precise pour, built-in thermometer, works on induction.", price: 4900, kind: kindGear, attrs: map[string]string{"capacity": "1 L"}},
		{category: "brewing-gear", title: "Glass Carafe 600 ml", description: "Borosilicate glass server, fits most drippers.", price: 1900, kind: kindSingle, attrs: map[string]string{"capacity": "600 ml"}},
		{category: "brewing-gear", title: "French Press 1 L", description: "Double-walled steel press that keeps coffee hot for an hour.", price: 3900, kind: kindGear, attrs: map[string]string{"capacity": "1 L"}},
		{category: "brewing-gear", title: "Stovetop Moka Pot 6 Cup", description: "Classic aluminium moka pot for strong, rich coffee on the stove.", price: 2900, kind: kindSingle, attrs: map[string]string{"capacity": "300 ml"}},
		{category: "brewing-gear", title: "Cold Brew Bottle", description: "Steep overnight in the fridge; the fine mesh filter lifts out.", price: 2600, kind: kindSingle, attrs: map[string]string{"capacity": "1 L"}},
		{category: "brewing-gear", title: "Paper Filters Size 02 (100)", description: "Oxygen-bleached paper filters for cone drippers.", price: 590, kind: kindSingle, attrs: map[string]string{"count": "100"}},
		{category: "brewing-gear", title: "Immersion Brewer", description: "Press-style brewer for a full-bodied cup in two minutes.", price: 3500, kind: kindSingle, attrs: map[string]string{"capacity": "300 ml"}},
		{category: "cups-mugs", title: "Stoneware Mug 350 ml", description: "Hand-glazed stoneware mug, dishwasher safe.", price: 1800, kind: kindMug, attrs: map[string]string{"capacity": "350 ml"}},
		{category: "cups-mugs", title: "Espresso Cup and Saucer", description: "Thick-walled porcelain that holds the heat of a double shot.", price: 1400, kind: kindMug, attrs: map[string]string{"capacity": "80 ml"}},
		{category: "cups-mugs", title: "Double-Wall Glass 250 ml", description: "Borosilicate glass that keeps drinks hot and hands cool.", price: 1600, kind: kindSingle, attrs: map[string]string{"capacity": "250 ml"}},
		{category: "cups-mugs", title: "Enamel Camp Mug", description: "Steel mug with a rolled rim, for the campsite and the kitchen.", price: 1200, kind: kindMug, attrs: map[string]string{"capacity": "300 ml"}},
		{category: "cups-mugs", title: "Cappuccino Cup 180 ml", description: "Tulip-shaped cup for latte art.", price: 1500, kind: kindMug, attrs: map[string]string{"capacity": "180 ml"}},
		{category: "cups-mugs", title: "Travel Tumbler 400 ml", description: "Leak-proof vacuum tumbler that fits car cup holders.", price: 2900, kind: kindGear, attrs: map[string]string{"capacity": "400 ml"}},
		{category: "accessories", title: "Digital Coffee Scale", description: "0.1 g resolution with a built-in timer for pour-over and espresso.", price: 3900, kind: kindGear, attrs: map[string]string{"resolution": "0.1 g"}},
		{category: "accessories", title: "Milk Frothing Pitcher 350 ml", description: "Stainless steel pitcher with a sharp spout for latte art.", price: 1900, kind: kindGear, attrs: map[string]string{"capacity": "350 ml"}},
		{category: "accessories", title: "Espresso Tamper 58 mm", description: "Flat stainless base and a walnut handle.", price: 3400, kind: kindSingle, attrs: map[string]string{"diameter": "58 mm"}},
		{category: "accessories", title: "Knock Box", description: "Rubber bar and a heavy base for spent espresso pucks.", price: 2200, kind: kindSingle},
		{category: "accessories", title: "Machine Cleaning Tablets (60)", description: "Removes coffee oils from group heads and valves.", price: 1290, kind: kindSingle, attrs: map[string]string{"count": "60"}},
	}
}

// variants makes the demo product's options and variants. Prices are in
// cents and end in 0 or 90, as shop prices do.
func (d demoProduct) variants(sku string) []catalogapi.VariantInput {
	eur := func(c int64) money.Money { return money.Money{Amount: c, Currency: "EUR"} }
	switch d.kind {
	case kindCoffee:
		kilo := d.price*7/2/100*100 + 90
		return []catalogapi.VariantInput{
			{SKU: sku + "-250-WB", Price: eur(d.price), Options: map[string]string{"Size": "250 g", "Grind": "Whole bean"}},
			{SKU: sku + "-250-GR", Price: eur(d.price), Options: map[string]string{"Size": "250 g", "Grind": "Ground"}},
			{SKU: sku + "-1K-WB", Price: eur(kilo), Options: map[string]string{"Size": "1 kg", "Grind": "Whole bean"}},
			{SKU: sku + "-1K-GR", Price: eur(kilo), Options: map[string]string{"Size": "1 kg", "Grind": "Ground"}},
		}
	case kindTea:
		return []catalogapi.VariantInput{
			{SKU: sku + "-50", Price: eur(d.price), Options: map[string]string{"Size": "50 g"}},
			{SKU: sku + "-100", Price: eur(d.price*9/5/100*100 + 90), Options: map[string]string{"Size": "100 g"}},
		}
	case kindMug:
		return []catalogapi.VariantInput{
			{SKU: sku + "-WHT", Price: eur(d.price), Options: map[string]string{"Color": "Chalk white"}},
			{SKU: sku + "-GRY", Price: eur(d.price), Options: map[string]string{"Color": "Slate grey"}},
			{SKU: sku + "-TER", Price: eur(d.price + 200), Options: map[string]string{"Color": "Terracotta"}},
		}
	case kindGear:
		return []catalogapi.VariantInput{
			{SKU: sku + "-BLK", Price: eur(d.price), Options: map[string]string{"Finish": "Matte black"}},
			{SKU: sku + "-STL", Price: eur(d.price + 500), Options: map[string]string{"Finish": "Brushed steel"}},
		}
	default:
		return []catalogapi.VariantInput{{SKU: sku, Price: eur(d.price)}}
	}
}

// SeedDemo fills the tenant in ctx with the demo shop: eight categories
// (three of them children) and 47 active products with 1 to 4 variants, in
// EUR. It does nothing, and returns 0, if the tenant has any product, so it
// is safe on every start. Existing categories with a demo slug are reused.
func (s *Service) SeedDemo(ctx context.Context) (created int, err error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.store.Read(ctx, func(q *catalogdb.Queries) error {
		var err error
		n, err = q.CountProducts(ctx, tenant)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("seed demo: count products: %w", err)
	}
	if n > 0 {
		return 0, nil
	}
	have, err := s.Categories(ctx)
	if err != nil {
		return 0, fmt.Errorf("seed demo: %w", err)
	}
	ids := map[string]string{}
	for _, c := range have {
		ids[c.Slug] = c.ID
	}
	for i, dc := range demoCategories() {
		if ids[dc.slug] != "" {
			continue
		}
		c, err := s.CreateCategory(ctx, catalogapi.CategoryCreate{
			Name: dc.name, Slug: dc.slug, ParentID: ids[dc.parent], Description: dc.description, Position: int64(i),
		})
		if err != nil {
			return 0, fmt.Errorf("seed demo category %s: %w", dc.slug, err)
		}
		ids[dc.slug] = c.ID
	}
	for i, d := range demoProducts() {
		slug := Slugify(d.title, "product")
		_, err := s.CreateProduct(ctx, catalogapi.ProductCreate{
			Title:       d.title,
			Description: d.description,
			Status:      catalogapi.StatusActive,
			CategoryID:  ids[d.category],
			Variants:    d.variants(fmt.Sprintf("MC-%03d", i+1)),
			Attributes:  d.attrs,
			Images:      []catalogapi.Image{{URL: demoImageURL(slug), Alt: d.title}},
		})
		if err != nil {
			return created, fmt.Errorf("seed demo product %q: %w", d.title, err)
		}
		created++
	}
	s.log.InfoContext(ctx, "demo catalog seeded", "tenant", tenant, "products", created)
	return created, nil
}
