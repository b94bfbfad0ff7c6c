package geomap

// Place is a well-known place near the Afghanistan–Pakistan border, for
// forms to offer in a searchable list.
//
// Coordinates are approximate, to about a kilometre or two: good enough to
// put an incident on the map, not to locate anything on the ground.
// Administrative units are those in use around 2024; Pakistan's former
// FATA agencies are the Khyber Pakhtunkhwa districts they became in 2018.
type Place struct {
	// Name is the place's common English name.
	Name string
	// Admin1 is the province (Afghanistan: wilayat; Pakistan: province).
	Admin1 string
	// Admin2 is the district.
	Admin2 string
	// Country is the ISO 3166-1 alpha-2 code: AF or PK.
	Country string
	// Lat and Lon are the approximate WGS 84 latitude and longitude.
	Lat, Lon float64
}

// Places returns well-known border places, crossings and nearby towns,
// ordered from north to south. Each call returns a new slice.
func Places() []Place {
	return []Place{
		{"Chitral", "Khyber Pakhtunkhwa", "Lower Chitral", "PK", 35.85, 71.79},
		{"Arandu", "Khyber Pakhtunkhwa", "Lower Chitral", "PK", 35.32, 71.53},
		{"Dir", "Khyber Pakhtunkhwa", "Upper Dir", "PK", 35.21, 71.88},
		{"Dangam", "Kunar", "Dangam", "AF", 34.99, 71.40},
		{"Asadabad", "Kunar", "Asadabad", "AF", 34.87, 71.15},
		{"Khar (Bajaur)", "Khyber Pakhtunkhwa", "Bajaur", "PK", 34.73, 71.52},
		{"Kabul", "Kabul", "Kabul", "AF", 34.53, 69.17},
		{"Jalalabad", "Nangarhar", "Jalalabad", "AF", 34.43, 70.45},
		{"Ghalanai", "Khyber Pakhtunkhwa", "Mohmand", "PK", 34.33, 71.36},
		{"Torkham", "Khyber Pakhtunkhwa", "Khyber", "PK", 34.11, 71.09},
		{"Landi Kotal", "Khyber Pakhtunkhwa", "Khyber", "PK", 34.10, 71.14},
		{"Peshawar", "Khyber Pakhtunkhwa", "Peshawar", "PK", 34.01, 71.58},
		{"Parachinar", "Khyber Pakhtunkhwa", "Kurram", "PK", 33.90, 70.10},
		{"Kharlachi", "Khyber Pakhtunkhwa", "Kurram", "PK", 33.87, 69.96},
		{"Gardez", "Paktia", "Gardez", "AF", 33.60, 69.22},
		{"Khost", "Khost", "Khost (Matun)", "AF", 33.34, 69.92},
		{"Sharana", "Paktika", "Sharana", "AF", 33.14, 68.79},
		{"Ghulam Khan", "Khyber Pakhtunkhwa", "North Waziristan", "PK", 33.13, 70.02},
		{"Miranshah", "Khyber Pakhtunkhwa", "North Waziristan", "PK", 33.00, 70.07},
		{"Bannu", "Khyber Pakhtunkhwa", "Bannu", "PK", 32.99, 70.60},
		{"Barmal", "Paktika", "Barmal", "AF", 32.73, 69.28},
		{"Angoor Adda", "Khyber Pakhtunkhwa", "Lower South Waziristan", "PK", 32.33, 69.35},
		{"Wana", "Khyber Pakhtunkhwa", "Lower South Waziristan", "PK", 32.30, 69.57},
		{"Dera Ismail Khan", "Khyber Pakhtunkhwa", "Dera Ismail Khan", "PK", 31.83, 70.90},
		{"Kandahar", "Kandahar", "Kandahar", "AF", 31.61, 65.71},
		{"Zhob", "Balochistan", "Zhob", "PK", 31.34, 69.45},
		{"Spin Boldak", "Kandahar", "Spin Boldak", "AF", 31.01, 66.40},
		{"Chaman", "Balochistan", "Chaman", "PK", 30.92, 66.45},
		{"Quetta", "Balochistan", "Quetta", "PK", 30.18, 67.00},
	}
}
