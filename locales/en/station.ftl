# The pages of the counter's and the managers' station work: opening cards of every kind, transfers, the shift's close, complaints, leads, targets, flyer batches and day reports.

## The counter's tasks
station-tasks = Counter tasks

## Opening a card of every kind
station-holder_part = Holder (personal card, company main card)
station-company_part = Company card (sub-card, fleet card)
station-company_part_hint = Opened under the company's main card, with the main card's PIN (the company's word)
station-main_card = Company main card number
station-main_card_pin = Main card PIN
station-vehicle_part = Vehicle (one card per vehicle)
station-vehicle_type = Vehicle type
station-vehicle-car = Car
station-vehicle-suv = SUV
station-vehicle-van = Van
station-vehicle-light_truck = Light truck
station-vehicle-heavy_truck = Heavy truck
station-vehicle-bus = Bus
station-vehicle-other = Other vehicle
station-displacement = Engine size (litres)
station-tank_capacity = Tank capacity (litres)
station-baseline = Litres per 100 km
station-driver = Usual driver
station-products_taken = Fuels it takes:
station-new_card_pin = New card's PIN (4–6 digits)
station-channel = Where the customer came from
station-channel_kind = Channel
station-channel_ref = Channel reference
station-channel_ref_hint = Flyer batch code, referring card number, partner offer code or prospect number
station-channel_flyer = Flyer
station-channel_stand = Stand or event
station-channel_referral = Customer referral
station-channel_partner = Alliance partner
station-channel_visit = Development visit
station-channel_in_station = At the station

## Transfers between a company's cards
station-company_transfer = Company card transfer
station-transfer_hint = Moves money between a main card and its sub-cards, with the main card's PIN
station-from_card = From card
station-to_card = To card
station-move_funds = Transfer
station-transfer_done = Transfer done
station-another_transfer = Another transfer

## The shift and the day report
station-shift = Shift
station-open_shift = Open my shift
station-opened_at = Opened at
station-close_shift = Close the shift
station-count_hint = Count the till and enter what is there
station-expected = Expected
station-counted = Counted
station-difference = Difference
station-shift_closed = Shift closed
station-day_report = Day report
station-date = Date
station-day_totals = The day's totals
station-bonus_given = Bonus given
station-recharges = Recharges
station-shifts = Shifts
station-no_shifts = No shifts that day
station-still_open = Still open
station-products = Fuel sold

## Prospects and leads
station-note_lead = Note a lead
station-lead_hint = A customer at the counter who might take a card: noted for the station manager to follow up
station-lead_noted = Noted: the station manager will follow it up
station-prospect_list = Prospects
station-overdue_prospects = Prospects with overdue next steps
station-overdue_by_station = Overdue next steps by station
station-no_overdue = No next step is overdue
station-stage = Stage
station-any = Any
station-only_overdue = Overdue only
station-page_of = Page { $page } of { $pages }, { $count } in all
station-previous = Previous
station-next = Next

## Targets
station-set_targets = Station targets
station-not_targets_role = Your role does not set targets
station-no_stations = No stations to set targets for
station-targets_saved = Targets saved for { $count } stations

## Flyer batches
station-flyers = Flyer batches
station-register_flyers = Register a flyer batch
station-batch_code = Batch code
station-handed_out = Handed out
station-flyer_batches = What each batch brought
station-activated = Activated
station-conversion = Conversion
station-by_channel = Cards opened this month by channel
station-activation_days = A card counts as activated once refuelled within { $days } days of opening
station-sales = Sales

## Importing prospects
station-import_prospects = Import prospects from CSV
station-import_hint = A header line, then one prospect a line. A file with any bad line imports nothing; each bad line is named.
station-import_columns = The columns, in this order:
station-import_comma = ,{" "}
station-import_template = Download the empty file with its header line
station-current_discount = Discount they have now
station-import_file = Choose a file
station-import_text = or paste its text
station-import_button = Import
station-imported = { $n ->
    [one] 1 prospect imported
   *[other] { $n } prospects imported
}
station-import_header = The first line must be the header line of the empty file
station-import_too_many = More than { $max } lines
station-import_column = Check the column { $column }
station-import_unreadable = This line cannot be read
station-line = Line
station-problem = Problem
station-not_prospects_role = Your role does not work prospects
